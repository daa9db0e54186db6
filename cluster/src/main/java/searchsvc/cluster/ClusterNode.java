package searchsvc.cluster;

import java.util.List;
import java.util.Map;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.transport.Netty4Plugin;

/**
 * One OpenSearch node of the test cluster, in its own JVM.
 *
 * <p>A distribution loads its transport and analyzers as modules from a directory; here they
 * are ordinary jars on the classpath, handed to the node as classpath plugins, which is what
 * the protected {@link Node} constructor is for. Each argument is one {@code key=value}
 * node setting; the node runs until the JVM is told to stop (SIGTERM closes it cleanly,
 * SIGKILL is how the fault tests kill a node).
 */
public final class ClusterNode extends Node {

    private ClusterNode(Settings settings) {
        super(
            InternalSettingsPreparer.prepareEnvironment(
                settings, Map.of(), null, () -> settings.get("node.name")),
            List.of(Netty4Plugin.class, CommonAnalysisPlugin.class),
            true);
    }

    public static void main(String[] args) throws Exception {
        Settings.Builder settings = Settings.builder();
        for (String arg : args) {
            int equals = arg.indexOf('=');
            if (equals <= 0) {
                throw new IllegalArgumentException("expected key=value, got: " + arg);
            }
            settings.put(arg.substring(0, equals), arg.substring(equals + 1));
        }
        ClusterNode node = new ClusterNode(settings.build());
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception closing) {
                closing.printStackTrace();
            }
        }));
        node.start();
        Thread.currentThread().join();
    }
}
