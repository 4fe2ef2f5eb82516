/*
 * The Kafka Streams peer of the matcher (benchmarks.matcher_kafka, consumer "kstreams"): a
 * Kafka Streams app that reads the preloaded reads topic, parses each read's JSON, looks its
 * plate_norm up in one exact list held in a HashMap, and writes a small JSON hit for each match,
 * acks=all with idempotence. Run from source (java -cp 'libs/*' ExactMatch.java ...):
 *
 *   ExactMatch BOOTSTRAP TOPIC HITS_TOPIC READS LIST_FILE STATE_DIR
 *
 * LIST_FILE has one "plate,entry_id" per line. Timed like the Python contestants: from its first
 * record to the moment every read was handled and the hits topic holds every hit it sent
 * (lag 0, hits acknowledged). Prints one JSON line: reads, hits, seconds, seconds_from_first,
 * reads_per_s.
 */

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;

public final class ExactMatch {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        String hitsTopic = args[2];
        long reads = Long.parseLong(args[3]);
        Map<String, String> listed = new HashMap<>();
        for (String line : Files.readAllLines(Path.of(args[4]))) {
            int comma = line.indexOf(',');
            listed.put(line.substring(0, comma), line.substring(comma + 1));
        }
        ObjectMapper json = new ObjectMapper();
        AtomicLong seen = new AtomicLong();
        AtomicLong hits = new AtomicLong();
        AtomicLong first = new AtomicLong();

        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(topic, Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()))
            .flatMapValues(value -> {
                if (seen.getAndIncrement() == 0) {
                    first.set(System.nanoTime());
                }
                try {
                    JsonNode read = json.readTree(value);
                    String entry = listed.get(read.get("plate_norm").asText());
                    if (entry == null) {
                        return Collections.<byte[]>emptyList();
                    }
                    ObjectNode hit = json.createObjectNode();
                    hit.put("read_id", read.get("read_id").asText());
                    hit.put("entry_id", entry);
                    hit.put("camera_id", read.get("camera_id").asText());
                    hit.put("plate", read.get("plate").asText());
                    hits.incrementAndGet();
                    return List.of(json.writeValueAsBytes(hit));
                } catch (java.io.IOException e) {
                    throw new RuntimeException(e);
                }
            })
            .to(hitsTopic, Produced.with(Serdes.ByteArray(), Serdes.ByteArray()));

        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "kstreams-" + UUID.randomUUID());
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(StreamsConfig.STATE_DIR_CONFIG, args[5]);
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 500);
        props.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
        props.put(StreamsConfig.producerPrefix(ProducerConfig.ACKS_CONFIG), "all");
        props.put(StreamsConfig.producerPrefix(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG), true);

        Properties adminProps = new Properties();
        adminProps.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(adminProps)) {
            List<TopicPartition> hitPartitions = admin.describeTopics(List.of(hitsTopic))
                .allTopicNames().get().get(hitsTopic).partitions().stream()
                .map(p -> new TopicPartition(hitsTopic, p.partition()))
                .collect(Collectors.toList());
            Map<TopicPartition, OffsetSpec> latest = hitPartitions.stream()
                .collect(Collectors.toMap(tp -> tp, tp -> OffsetSpec.latest()));

            KafkaStreams streams = new KafkaStreams(builder.build(), props);
            long started = System.nanoTime();
            streams.start();
            while (seen.get() < reads) {
                Thread.sleep(2);
            }
            long written;
            do {
                written = admin.listOffsets(latest).all().get().values().stream()
                    .mapToLong(info -> info.offset()).sum();
                if (written < hits.get()) {
                    Thread.sleep(2);
                }
            } while (written < hits.get());
            long ended = System.nanoTime();
            streams.close();
            double seconds = (ended - started) / 1e9;
            double fromFirst = (ended - first.get()) / 1e9;
            System.out.printf(
                "{\"reads\": %d, \"hits\": %d, \"seconds\": %.3f, \"seconds_from_first\": %.3f,"
                    + " \"reads_per_s\": %d}%n",
                seen.get(), hits.get(), seconds, fromFirst, Math.round(seen.get() / fromFirst));
        }
    }
}
