"""Words that are also names of towns somewhere, and so never places in running text.

A capitalized "Police", "Reading" or "March" at the start of a sentence is a
word, not the town in Poland, England or Cambridgeshire; "Lawson said" is a
person, "Bank of Japan" names no town in India. The list holds every
single-word alias of a gazetteer town that is an ordinary English word, a
common given name or surname, or a company word seen in newswire copy, less a
few towns that are far more often meant than the word ("Buffalo", "Cork",
"Oxford", "Phoenix"). Datelines do not use it: a dateline is a place by
position, so "READING" there is Reading.
"""

from __future__ import annotations

_WORDS = """
a about above acacias acre across adam adams adler ado adrian after again against agar agro
aim airport alabaster ale ales alfaro alga ali alice all allegheny allen alley alliance
almeida aloha along alot also alter altos alvin am amen ames among ampere an and anderson
andrea anew angers angle angora ann anna annex antelope anthem any anyi apex arbutus
archangel arching archway are area argyle arnold as ascot asp at ate atlantis auburn august
avon awash away back bad bade badger bag bah bake bale bally balsas ban bandana bane banes
banged bangs bani banjo bank banning bar bard barium barking barn barnes barrage barrios
barrow barry basic bassi baste bat bate bath battleground baud bay be bear because been
before begun being bell below ben bend bender best between beverly bid big bilk bill
billings bimbo bin black bloom blue bluffs bode bolder bole bolivar bone bonito bonny boo
boom boon boons bore born borne bossier both bountiful bow bra brad bradley brake bras brat
bray brick bridge bright broach brusque bryan buckeye bun burg burke burlington burs bury
bush bust but butte butterfly buy by cage call caller campbell can canal canes canning
cardenas care carmel carney caroline carpi cars carson carteret case cassia cassino castro
cat cayenne centennial center central centurion chagrin chair champion champlin champs
chandler change chaparral chavez chen cheng chi chiari chin chinking chino city clay clayton
clot cloverleaf coal cobra coca cocoa cognac coin cold colon columbine coma combs come
commerce commonwealth compendium conception concord cone confederation consolation converse
coo corby cordon corn corona cos cove cranston creek cross crossroads crown crystal cypress
dab dam damask dame dandy date david davis dawn day deal debar debark defiance deli delis
delta diana dick dig dilly dinar dining dire dis diva divas dixon does dogwood dole dolores
dome donna doris dosing douglas dour down downtown drama drug dry dual due duncan during
dyer each eagle early earnest east easy edison eight elbow elizabeth elk emery empire
emporia energy enterprise era eras erode escalante espinosa eugene eureka evans even evens
ever everett evergreen every fair fall far farah fate federal felling ferdinand ferguson
fernandez few fez fiche fiddlesticks first fishers five flagstaff fleet flint flora flores
florin flushing foley for fora fords fore forest forge fountain four fowling francisco
francois frederick free freedom freshwater from fujioka fullerton furnace gale gao gap
garcia gardner garland garner garrison gary gas gay gel general genes george germinal
gilbert gill gillette gloria god goes gold golden gondola good goodyear google gore goto
graham grand granges grants grapevine grass grays great green grenade griffin grin grins
grove groves gums gutierrez had hag hail hal hale hall hang harbor harper harrison harrow
hart hartley harvey has hashimoto hassan have hawthorn hayes hays he health hem henderson
her here hermitage hexing hickory high highland highlands hill hillside him hims hippo hire
his hit holiday homburg home homestead honcho honda hook hope hopewell horde horn hosanna
house hove how howard hub hudson hue hughes hula human humble hums humus hunter hurricane
ibis if ifo iglesias iida ikeda imperial in independence int into is ishii ishikawa it ito
its ivan jackson jacob jam jasper jimenez jingling johnston jos juan julia junction just
kale kan karakul kato keen keith keller kendall kennedy kens keswick keystone khail khan
kilo kim kin kinder king kobayashi komatsu kurihara kuroda lacrosse lag lake lama lamont
lampoon lancing land lander lara largo last lat late latina lattes laurel law lawrence
lawson leek leer lemon lemur lend lennox lens leo leon leslie less lessen lewis liberal
liberty lice lids lien life like lime limo lin linda linden linen lints lion lira lisle
little live lively lob log logos lone long loop lop lopez lost lot low luau lucas luck luis
lupin lynn lyons made magenta magnesia maidenhead main major maki male man manage manga
manger mango manly manning mantes mantilla many maracas marathon march marina marion mark
market marks marshal marshall martin martinez mary mascara mascot mason may med media medias
medina megalopolis mena mendes mendoza mentor mercy meres meridian mesa meshed mesquite
metro michel midland midstream midway mien might mile milton mine minster mire mission
mitchell mite miura mobile mocha mole moll monsanto monster montagu moore moorhead morales
more moreno mori moron morris mos mosquito moss most much murakami murphy murray mush must
mustang myers myrtle mystic nails nakagawa nakamura name nancy nape narragansett natal
national near neath negara nelson neptunium never new newel newman newton next nice nigel
nikolai nine nit nix no nogales noisy nor normal norman north norton not novae now oakley
ocher ode of off officer ogawa ogden ogre oil okay old oliveira on one only open opera
opportunity or oral orange orchards ota other otsuki our out outer over overland pace
paisley pal palmer palmetto palmy pan panda pandas panorama pantheon pap papa papas papaya
paradise paramount pare park parker parole pastas paz peabody peace pearl pecs pedro peer
pen people per pereira perez perm perry pert pest pet pets pin pinto piranhas pita plain
plant plantation plaque plaza plum plunge plunges police polo pop port portage posse
possession pout power pre price pristine proclamation proctors progress prosper puma pun
punch put quack quarto quevedo quinton raja ram ramon ramos rapid ray reading real record
red redwood republic reservoir rest retreat revel revere reyes rho rich richardson riding
right rim rise risen rivera rivet roan robe robert robertson rocha rock rodriguez rogers
roles roman rose roses rosette rot rouge round roundabout rouse roy royal rube rubio rugby
rung ruse rush rust rye saga said saito sake saki salamis sale saline salines salon salt sam
samba same sandy santana sari saris savage savanna save say schooner seaside sedan see seen
seguin semi senna sera seraglio sere set seven shaping shaw she shields shirley shone
shoreline shortens shot should shush shut side sidney silvan sim simmering sin since sine
sing sire siren sis six ski skit slashes slaughter snits so soda sol sole soli solo some son
soul sour souse south souza sparks spike spire spires split spoken spray spring springs
squawk sriracha stains stanley star state sterling stewart still stock stoke stow stuart
such sue sues sulphur summit sumo sun sunders sunning sunrise sunset superior sur surprise
swallow swords sycamore tabu taft takahashi taker tale tall tam tamale tame tampon tamura
tan tanghe tango tank tape tars tartar taylor tbs tell tempi temple ten tender teo tequila
teresa termini terminus terrace than that the their them then there these they this thomson
thorn three through tilt time ting tire tiro to today tome tone tongue too tooting tor torn
torrent torres tors tour tours toyota tracy trade trap trident troy truss tsunami tub tuba
tubas tucker tulle tun tunas tune tuner tunes turn turner two tyros ueda under union unity
university up upland uptown urdaneta valence valley van vane vans vermilion vernon verve
very veto vicar victor victoria vie view vincent vine vineyard vise vista vladimir von wadi
waits waling walker walling walnut wan warburg warder ware warren was water wave waver way
wayne we wean weasel weber wed wedding weir well welling wen were west westerly wetter what
wheeling when where which while white whitney who why wil will wilson with woodland
woodlands woodside world worms worth would wright yamada yang yao year yen yes yoga yoshida
you young yuri zest ziyang
"""

STOPWORDS: frozenset[str] = frozenset(_WORDS.split())
