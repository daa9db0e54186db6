# ruff: noqa: RUF001 (Turkish and Cyrillic letters are the point of these texts)
"""News-like texts in eleven languages, written for measuring language detectors.

Each language has headlines (a few words: what a feed entry or a brief may be reduced
to) and paragraphs (one lead paragraph each); a *story* is a headline followed by all
its language's paragraphs. Indonesian and Malay are written in each country's usage
(``pemerintah``/``kerajaan``, ``polisi``/``polis``, ``mobil``/``kereta``), since telling
them apart is the hard case for every detector.
"""

from __future__ import annotations

SAMPLES: dict[str, dict[str, list[str]]] = {
    "en": {
        "headlines": [
            "Floods cut off villages in the north",
            "Central bank holds rates steady",
            "Port workers end week-long strike",
            "Minister resigns over contract scandal",
            "Heat wave strains power grid",
            "Wheat exports rise as harvest recovers",
        ],
        "paragraphs": [
            "Heavy rain over the weekend swept away two bridges and left several villages "
            "without road access, the regional disaster agency said on Monday. Rescue teams "
            "reached the worst-hit areas by boat and were handing out drinking water.",
            "The central bank kept its benchmark rate unchanged for a third meeting, saying "
            "inflation was easing more slowly than it had expected. Analysts had forecast "
            "the decision, and the currency barely moved after the announcement.",
            "Dock workers returned to their posts on Thursday after union leaders accepted a "
            "pay offer, ending a strike that had left dozens of ships waiting outside the "
            "harbour and delayed deliveries of fuel and grain.",
        ],
    },
    "id": {
        "headlines": [
            "Banjir rendam ratusan rumah warga di Bekasi",
            "Pemerintah naikkan harga bahan bakar minyak",
            "Polisi tangkap tersangka pencurian mobil",
            "Presiden resmikan jalan tol baru di Sumatra",
            "Ribuan warga peringati hari jadi kota",
            "Harga beras di pasar tradisional terus naik",
        ],
        "paragraphs": [
            "Hujan deras yang mengguyur sejak Minggu malam membuat sungai meluap dan "
            "merendam ratusan rumah warga. Badan Penanggulangan Bencana Daerah mengatakan "
            "belum ada korban jiwa, tetapi sebagian warga terpaksa mengungsi ke masjid dan "
            "sekolah terdekat.",
            "Pemerintah memutuskan untuk menaikkan harga bahan bakar mulai pekan depan. "
            "Menteri Keuangan mengatakan subsidi yang terus membengkak membebani anggaran "
            "negara, sementara sejumlah serikat buruh menyatakan akan menggelar unjuk rasa.",
            "Polisi berhasil menangkap dua tersangka yang diduga mencuri belasan mobil di "
            "kawasan Jakarta Selatan. Kepala kepolisian setempat mengatakan para pelaku "
            "menjual kendaraan curian itu ke luar kota dengan surat palsu.",
        ],
    },
    "ms": {
        "headlines": [
            "Banjir kilat landa beberapa kawasan di Kelantan",
            "Kerajaan umum bantuan tunai kepada pekebun kecil",
            "Polis tahan lelaki disyaki curi kereta",
            "Menteri lancar kempen keselamatan jalan raya",
            "Harga minyak sawit meningkat minggu ini",
            "Pelajar sekolah menengah terima biasiswa",
        ],
        "paragraphs": [
            "Hujan lebat sejak petang semalam menyebabkan banjir kilat di beberapa kawasan "
            "dan memaksa lebih seratus penduduk berpindah ke pusat pemindahan sementara. "
            "Jabatan Bomba dan Penyelamat berkata keadaan masih terkawal.",
            "Kerajaan akan menyalurkan bantuan tunai kepada pekebun kecil yang terjejas "
            "akibat kejatuhan harga getah, kata menteri itu dalam satu kenyataan hari ini. "
            "Bayaran pertama dijangka dibuat sebelum hujung bulan depan.",
            "Polis menahan seorang lelaki berusia 30 tahun yang disyaki mencuri beberapa "
            "buah kereta di sekitar Kuala Lumpur sejak tahun lepas. Ketua polis daerah "
            "berkata suspek akan direman selama tujuh hari bagi membantu siasatan.",
        ],
    },
    "ar": {
        "headlines": [
            "فيضانات تغمر قرى في شمال البلاد",
            "البنك المركزي يبقي أسعار الفائدة دون تغيير",
            "وزير الخارجية يصل إلى القاهرة في زيارة رسمية",
            "ارتفاع أسعار النفط في الأسواق العالمية",
            "افتتاح معرض الكتاب الدولي بمشاركة واسعة",
            "الشرطة تعتقل مشتبها به في قضية سرقة",
        ],
        "paragraphs": [
            "قالت هيئة الأرصاد الجوية إن الأمطار الغزيرة التي هطلت خلال عطلة نهاية الأسبوع "
            "تسببت في فيضانات واسعة، وأدت إلى قطع الطرق المؤدية إلى عدد من القرى، فيما "
            "تعمل فرق الإنقاذ على إيصال المياه والغذاء إلى السكان.",
            "أعلن البنك المركزي يوم الخميس إبقاء سعر الفائدة الرئيسي دون تغيير للمرة "
            "الثالثة على التوالي، مشيرا إلى أن معدل التضخم ما زال أعلى من المستوى "
            "المستهدف رغم تراجعه في الأشهر الأخيرة.",
            "وصل وزير الخارجية إلى القاهرة في زيارة رسمية تستمر يومين، يلتقي خلالها "
            "كبار المسؤولين لبحث العلاقات الثنائية والأوضاع في المنطقة، بحسب بيان صادر "
            "عن الوزارة.",
        ],
    },
    "fr": {
        "headlines": [
            "Des inondations coupent plusieurs villages du nord",
            "La banque centrale maintient ses taux",
            "Les dockers mettent fin à une semaine de grève",
            "Le ministre démissionne après un scandale",
            "La canicule met le réseau électrique sous tension",
            "Les exportations de blé repartent à la hausse",
        ],
        "paragraphs": [
            "Les fortes pluies du week-end ont emporté deux ponts et privé plusieurs "
            "villages de tout accès par la route, a indiqué lundi l'agence régionale de "
            "gestion des catastrophes. Les secours ont atteint les zones les plus touchées "
            "en bateau.",
            "La banque centrale a laissé son taux directeur inchangé pour la troisième "
            "réunion consécutive, estimant que l'inflation ralentissait moins vite que "
            "prévu. Les analystes s'attendaient à cette décision.",
            "Les ouvriers du port ont repris le travail jeudi après que les syndicats ont "
            "accepté une offre salariale, mettant fin à une grève qui avait bloqué des "
            "dizaines de navires au large.",
        ],
    },
    "de": {
        "headlines": [
            "Hochwasser schneidet Dörfer im Norden ab",
            "Zentralbank lässt Leitzins unverändert",
            "Hafenarbeiter beenden einwöchigen Streik",
            "Minister tritt nach Vergabeskandal zurück",
            "Hitzewelle belastet das Stromnetz",
            "Weizenexporte steigen nach guter Ernte",
        ],
        "paragraphs": [
            "Starke Regenfälle haben am Wochenende zwei Brücken weggerissen und mehrere "
            "Dörfer von der Außenwelt abgeschnitten, teilte die regionale "
            "Katastrophenschutzbehörde am Montag mit. Rettungskräfte erreichten die am "
            "schwersten betroffenen Gebiete mit Booten.",
            "Die Zentralbank hat ihren Leitzins zum dritten Mal in Folge nicht verändert. "
            "Die Inflation gehe langsamer zurück als erwartet, hieß es zur Begründung. "
            "Volkswirte hatten mit der Entscheidung gerechnet.",
            "Die Hafenarbeiter haben am Donnerstag die Arbeit wieder aufgenommen, nachdem "
            "die Gewerkschaft ein Lohnangebot angenommen hatte. Wegen des Streiks hatten "
            "Dutzende Schiffe vor dem Hafen warten müssen.",
        ],
    },
    "es": {
        "headlines": [
            "Las inundaciones aíslan varias aldeas del norte",
            "El banco central mantiene los tipos de interés",
            "Los estibadores ponen fin a una semana de huelga",
            "Dimite el ministro tras un escándalo de contratos",
            "La ola de calor pone a prueba la red eléctrica",
            "Suben las exportaciones de trigo tras la cosecha",
        ],
        "paragraphs": [
            "Las intensas lluvias del fin de semana arrastraron dos puentes y dejaron a "
            "varias aldeas sin acceso por carretera, informó el lunes la agencia regional "
            "de emergencias. Los equipos de rescate llegaron en barca a las zonas más "
            "afectadas.",
            "El banco central mantuvo sin cambios su tipo de referencia por tercera reunión "
            "consecutiva, al considerar que la inflación se modera más despacio de lo "
            "previsto. Los analistas esperaban la decisión.",
            "Los trabajadores del puerto volvieron a sus puestos el jueves después de que "
            "el sindicato aceptara una oferta salarial, lo que puso fin a una huelga que "
            "había retenido decenas de buques.",
        ],
    },
    "pt": {
        "headlines": [
            "Enchentes isolam povoados no norte do país",
            "Banco central mantém a taxa de juros",
            "Portuários encerram greve de uma semana",
            "Ministro renuncia após escândalo de contratos",
            "Onda de calor sobrecarrega a rede elétrica",
            "Exportações de trigo voltam a crescer",
        ],
        "paragraphs": [
            "As chuvas fortes do fim de semana derrubaram duas pontes e deixaram vários "
            "povoados sem acesso por estrada, informou na segunda-feira a defesa civil "
            "regional. As equipes de resgate chegaram de barco às áreas mais atingidas.",
            "O banco central manteve a taxa básica de juros inalterada pela terceira "
            "reunião seguida, afirmando que a inflação está caindo mais devagar do que o "
            "esperado. Os economistas já previam a decisão.",
            "Os trabalhadores do porto voltaram ao trabalho na quinta-feira depois que o "
            "sindicato aceitou uma proposta de reajuste, encerrando uma greve que deixou "
            "dezenas de navios esperando.",
        ],
    },
    "ru": {
        "headlines": [
            "Наводнение отрезало деревни на севере",
            "Центробанк сохранил ключевую ставку",
            "Портовые рабочие прекратили забастовку",
            "Министр ушёл в отставку после скандала",
            "Жара создаёт нагрузку на энергосистему",
            "Экспорт пшеницы вырос после урожая",
        ],
        "paragraphs": [
            "Сильные дожди в выходные смыли два моста и оставили несколько деревень без "
            "автомобильного сообщения, сообщило в понедельник региональное управление по "
            "чрезвычайным ситуациям. Спасатели добрались до пострадавших районов на лодках.",
            "Центральный банк третье заседание подряд оставил ключевую ставку без "
            "изменений, отметив, что инфляция замедляется медленнее, чем ожидалось. "
            "Аналитики прогнозировали такое решение.",
            "Портовые рабочие в четверг вернулись к работе после того, как профсоюз принял "
            "предложение о повышении зарплаты. Из-за забастовки десятки судов ждали на "
            "рейде.",
        ],
    },
    "tr": {
        "headlines": [
            "Sel kuzeydeki köylerin yolunu kesti",
            "Merkez bankası faizi sabit tuttu",
            "Liman işçileri bir haftalık grevi bitirdi",
            "Bakan ihale skandalının ardından istifa etti",
            "Sıcak hava dalgası elektrik şebekesini zorluyor",
            "Buğday ihracatı hasatla birlikte arttı",
        ],
        "paragraphs": [
            "Hafta sonu etkili olan şiddetli yağışlar iki köprüyü yıktı ve birçok köyün "
            "kara yolu bağlantısını kesti, bölgesel afet yönetimi pazartesi günü yaptığı "
            "açıklamada bildirdi. Kurtarma ekipleri en çok etkilenen bölgelere teknelerle "
            "ulaştı.",
            "Merkez bankası politika faizini üst üste üçüncü toplantıda da değiştirmedi ve "
            "enflasyonun beklenenden daha yavaş düştüğünü açıkladı. Ekonomistler bu kararı "
            "bekliyordu.",
            "Liman işçileri, sendikanın ücret teklifini kabul etmesinin ardından perşembe "
            "günü işbaşı yaptı. Grev nedeniyle onlarca gemi limanın dışında beklemişti.",
        ],
    },
    "sw": {
        "headlines": [
            "Mafuriko yakata barabara za vijiji kaskazini",
            "Benki kuu yaacha riba bila mabadiliko",
            "Wafanyakazi wa bandari wamaliza mgomo",
            "Waziri ajiuzulu baada ya kashfa ya zabuni",
            "Bei ya mahindi yapanda sokoni",
            "Wanafunzi wapokea ufadhili wa masomo",
        ],
        "paragraphs": [
            "Mvua kubwa iliyonyesha mwishoni mwa wiki ilisomba madaraja mawili na kuacha "
            "vijiji kadhaa bila njia ya barabara, mamlaka ya kukabiliana na maafa ilisema "
            "Jumatatu. Timu za uokoaji zilifika maeneo yaliyoathirika zaidi kwa mashua.",
            "Benki kuu imeacha kiwango chake cha riba bila mabadiliko kwa mkutano wa tatu "
            "mfululizo, ikisema mfumuko wa bei unapungua polepole kuliko ilivyotarajiwa. "
            "Wachambuzi walikuwa wametabiri uamuzi huo.",
            "Wafanyakazi wa bandari walirejea kazini Alhamisi baada ya chama chao "
            "kukubali nyongeza ya mishahara, na hivyo kumaliza mgomo uliosababisha meli "
            "nyingi kusubiri nje ya bandari.",
        ],
    },
}


def samples_by_length() -> dict[str, list[tuple[str, str]]]:
    """``(language, text)`` pairs for each length class: headline, paragraph, story."""
    classes: dict[str, list[tuple[str, str]]] = {"headline": [], "paragraph": [], "story": []}
    for language, texts in SAMPLES.items():
        classes["headline"] += [(language, text) for text in texts["headlines"]]
        classes["paragraph"] += [(language, text) for text in texts["paragraphs"]]
        story = "\n\n".join(texts["paragraphs"])
        classes["story"] += [(language, f"{title}\n\n{story}") for title in texts["headlines"]]
    return classes
