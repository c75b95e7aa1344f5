package dev.tributary.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.math.BigInteger;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Instant;
import java.time.LocalDate;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/**
 * user-profiles' job as a Kafka Streams application, the baseline of `npm run bench`: read the
 * Debezium CDC topic (Avro, Confluent wire format, writer schemas from our registry's Confluent REST
 * API), apply the input port's contract rules, map the row to a profile as
 * products/user-profiles/transform.ts does, encode it behind the Confluent header with the schema ids
 * Tributary registered, and produce it keyed (a tombstone for a delete). Failures go to the dead-letter
 * topic with Tributary's error headers.
 *
 * Usage: UserProfilesStreams <bootstrap> <registry url> <input> <subject> <output> <dlq> <eos|alos> <passes> <records> <state dir>,
 * where the schemas are those of the subjects `<subject>-value` and `<subject>-key` (Tributary's output port).
 * Each pass is a fresh KafkaStreams instance with its own application id (a new group, reading from the
 * start). Only the last pass writes to <output> (earlier passes warm the JVM up and write to
 * <output>.warmup). Per pass one JSON line: records, seconds from the first record processed to the
 * last commit, and CPU seconds of the process over that time.
 */
public final class UserProfilesStreams {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String[] BANDS = {"18-24", "25-34", "35-44", "45-54", "55-64"};
  private static final Pattern EMAIL = Pattern.compile("^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$");
  private static final Pattern COUNTRY = Pattern.compile("^[A-Z]{2}$");

  /** Writer schemas by id, fetched once from the registry (Confluent's deserializer caches the same way). */
  static final class Registry {
    private final HttpClient http = HttpClient.newHttpClient();
    private final String url;
    private final Map<Integer, Schema> byId = new ConcurrentHashMap<>();

    Registry(String url) {
      this.url = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }

    JsonNode get(String path) throws Exception {
      HttpResponse<String> res = http.send(HttpRequest.newBuilder(URI.create(url + path)).GET().build(), HttpResponse.BodyHandlers.ofString());
      if (res.statusCode() != 200) throw new IllegalStateException("registry " + path + ": " + res.statusCode() + " " + res.body());
      return JSON.readTree(res.body());
    }

    Schema schema(int id) {
      return byId.computeIfAbsent(id, k -> {
        try {
          return new Schema.Parser().parse(get("/schemas/ids/" + k).get("schema").asText());
        } catch (Exception e) {
          throw new IllegalStateException("schema id " + k + ": " + e.getMessage(), e);
        }
      });
    }

    /** The latest version of a subject: [id, schema]. */
    Object[] latest(String subject) throws Exception {
      JsonNode n = get("/subjects/" + URLEncoder.encode(subject, StandardCharsets.UTF_8) + "/versions/latest");
      return new Object[] {n.get("id").asInt(), new Schema.Parser().parse(n.get("schema").asText())};
    }
  }

  static final class Failure extends Exception {
    final String code;
    final String stage;

    Failure(String code, String stage, String message) {
      super(message);
      this.code = code;
      this.stage = stage;
    }
  }

  /** The processor: one input record in, zero or one output (a profile, a tombstone or a dead letter). */
  static final class Job implements Processor<byte[], byte[], byte[], byte[]> {
    private final Registry registry;
    private final Pass pass;
    private final int valueId;
    private final int keyId;
    private final Schema profileSchema;
    private final Schema planSchema;
    private final GenericDatumWriter<GenericRecord> writer;
    private final Map<Integer, GenericDatumReader<GenericRecord>> readers = new HashMap<>();
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    private BinaryDecoder decoder;
    private BinaryEncoder encoder;
    private GenericRecord reuse;
    private ProcessorContext<byte[], byte[]> context;

    Job(Registry registry, Pass pass, int valueId, Schema profileSchema, int keyId) {
      this.registry = registry;
      this.pass = pass;
      this.valueId = valueId;
      this.keyId = keyId;
      this.profileSchema = profileSchema;
      this.planSchema = profileSchema.getField("plan").schema();
      this.writer = new GenericDatumWriter<>(profileSchema);
    }

    @Override
    public void init(ProcessorContext<byte[], byte[]> context) {
      this.context = context;
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
      pass.started();
      try {
        Record<byte[], byte[]> result = map(record);
        if (result != null) context.forward(result, "profiles");
      } catch (Failure f) {
        context.forward(deadLetter(record, f), "dlq");
      }
      // The last record: commit now rather than at the next commit interval (30 s at-least-once).
      if (pass.processed()) context.commit();
    }

    private Record<byte[], byte[]> map(Record<byte[], byte[]> record) throws Failure {
      byte[] value = record.value();
      if (value == null) return null; // a tombstone: a no-op for a stream port
      ByteBuffer frame = ByteBuffer.wrap(value);
      if (value.length < 5 || frame.get() != 0) throw new Failure("TRIB_DECODE_MAGIC", "decode", "value is not in the Confluent wire format");
      int id = frame.getInt();
      GenericRecord envelope;
      try {
        GenericDatumReader<GenericRecord> reader = readers.computeIfAbsent(id, k -> new GenericDatumReader<>(registry.schema(k)));
        decoder = DecoderFactory.get().binaryDecoder(value, 5, value.length - 5, decoder);
        envelope = reuse = reader.read(reuse, decoder);
      } catch (Exception e) {
        throw new Failure("TRIB_DECODE_AVRO", "decode", "schema id " + id + ": " + e.getMessage());
      }
      String op = envelope.get("op").toString();
      if (op.equals("t")) return null;
      if (op.equals("d")) {
        GenericRecord before = (GenericRecord) envelope.get("before");
        return record.withKey(key((Long) before.get("id"))).withValue(null);
      }
      GenericRecord row = (GenericRecord) envelope.get("after");
      String email = string(row, "email");
      String country = string(row, "country");
      String fullName = string(row, "full_name");
      // The input port's contract, in the spec's order: email, country, full_name.
      if (email == null) throw rule("email: required, but missing");
      if (!EMAIL.matcher(email).matches()) throw rule("email: \"" + email + "\" does not match /" + EMAIL.pattern() + "/");
      if (country == null) throw rule("country: required, but missing");
      if (!COUNTRY.matcher(country).matches()) throw rule("country: \"" + country + "\" does not match /" + COUNTRY.pattern() + "/");
      if (fullName == null) throw rule("full_name: required, but missing");
      if (fullName.length() > 200) throw rule("full_name: length " + fullName.length() + " exceeds 200");

      long userId = (Long) row.get("id");
      long updatedAt = (Long) row.get("updated_at");
      Object birth = row.get("birth_date");
      GenericData.Record profile = new GenericData.Record(profileSchema);
      profile.put(0, userId);
      profile.put(1, email.toLowerCase(Locale.ROOT));
      profile.put(2, fullName.strip());
      profile.put(3, birth == null ? null : ageBand(LocalDate.ofEpochDay((Integer) birth), LocalDate.ofEpochDay(Math.floorDiv(updatedAt, 86_400_000_000L))));
      profile.put(4, country);
      profile.put(5, string(row, "city"));
      profile.put(6, new GenericData.EnumSymbol(planSchema, row.get("plan").toString()));
      profile.put(7, row.get("marketing_opt_in"));
      // Connect's Decimal: big-endian two's complement of the unscaled value; written in its shortest form.
      ByteBuffer ltv = (ByteBuffer) row.get("lifetime_value");
      byte[] unscaled = new byte[ltv.remaining()];
      ltv.duplicate().get(unscaled);
      profile.put(8, ByteBuffer.wrap(new BigInteger(unscaled).toByteArray()));
      profile.put(9, micros(Instant.parse(string(row, "created_at"))));
      profile.put(10, updatedAt);
      byte[] encoded;
      try {
        out.reset();
        header(valueId);
        encoder = EncoderFactory.get().directBinaryEncoder(out, encoder);
        writer.write(profile, encoder);
        encoder.flush();
        encoded = out.toByteArray();
      } catch (Exception e) {
        throw new Failure("TRIB_ENCODE_FAILED", "encode", e.getMessage());
      }
      return record.withKey(key(userId)).withValue(encoded);
    }

    private byte[] key(long id) {
      try {
        out.reset();
        header(keyId);
        encoder = EncoderFactory.get().directBinaryEncoder(out, encoder);
        encoder.writeLong(id);
        encoder.flush();
        return out.toByteArray();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    private void header(int id) {
      out.write(0);
      out.write(id >>> 24);
      out.write(id >>> 16);
      out.write(id >>> 8);
      out.write(id);
    }

    private static String string(GenericRecord r, String field) {
      Object v = r.get(field);
      return v == null ? null : v.toString();
    }

    private static Failure rule(String message) {
      return new Failure("TRIB_VALIDATE_RULE", "validate", "port users: " + message);
    }

    private Record<byte[], byte[]> deadLetter(Record<byte[], byte[]> record, Failure f) {
      Record<byte[], byte[]> dead = record.withHeaders(record.headers());
      Headers h = dead.headers();
      h.add("tributary.error.code", f.code.getBytes(StandardCharsets.UTF_8));
      h.add("tributary.error.message", f.getMessage().getBytes(StandardCharsets.UTF_8));
      h.add("tributary.error.stage", f.stage.getBytes(StandardCharsets.UTF_8));
      h.add("tributary.error.port", "users".getBytes(StandardCharsets.UTF_8));
      return dead;
    }
  }

  static long micros(Instant t) {
    return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1_000);
  }

  /** transform.ts' ageBand: the age at the time of the change. */
  static String ageBand(LocalDate birth, LocalDate at) {
    int age = at.getYear() - birth.getYear() - ((at.getMonthValue() * 100 + at.getDayOfMonth()) < (birth.getMonthValue() * 100 + birth.getDayOfMonth()) ? 1 : 0);
    if (age < 18) return "under-18";
    if (age >= 65) return "65+";
    return BANDS[Math.min(4, Math.floorDiv(age - 15, 10))];
  }

  /** One timed pass: from the first record processed to the commit that covers the last one. */
  static final class Pass {
    private final long expected;
    private long count;
    volatile long startedNanos;
    volatile long startedCpu;

    Pass(long expected) {
      this.expected = expected;
    }

    void started() {
      if (count == 0) {
        startedNanos = System.nanoTime();
        startedCpu = cpuNanos();
      }
    }

    /** Counts one record; true when it was the last expected one. */
    boolean processed() {
      return ++count == expected;
    }
  }

  static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    Registry registry = new Registry(args[1]);
    String input = args[2];
    String subject = args[3];
    String output = args[4];
    String dlq = args[5];
    boolean eos = args[6].equals("eos");
    int passes = Integer.parseInt(args[7]);
    long expected = Long.parseLong(args[8]);
    String stateDir = args[9];

    Object[] value = registry.latest(subject + "-value");
    Object[] key = registry.latest(subject + "-key");
    Properties adminProps = new Properties();
    adminProps.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(adminProps)) {
      List<TopicPartition> inputs = admin.describeTopics(List.of(input)).allTopicNames().get().get(input).partitions().stream()
          .map(p -> new TopicPartition(input, p.partition())).collect(Collectors.toList());
      Map<TopicPartition, OffsetSpec> latest = inputs.stream().collect(Collectors.toMap(tp -> tp, tp -> OffsetSpec.latest()));
      Map<TopicPartition, ListOffsetsResultInfo> ends = admin.listOffsets(latest, new org.apache.kafka.clients.admin.ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all().get();

      for (int pass = 1; pass <= passes; pass++) {
        boolean timed = pass == passes;
        String appId = "user-profiles-streams-" + ProcessHandle.current().pid() + "-" + System.nanoTime() + "-" + pass;
        Pass p = new Pass(expected);
        Topology topology = new Topology();
        topology.addSource("users", Serdes.ByteArray().deserializer(), Serdes.ByteArray().deserializer(), input);
        topology.addProcessor("job", () -> new Job(registry, p, (Integer) value[0], (Schema) value[1], (Integer) key[0]), "users");
        topology.addSink("profiles", timed ? output : output + ".warmup", Serdes.ByteArray().serializer(), Serdes.ByteArray().serializer(), "job");
        topology.addSink("dlq", timed ? dlq : dlq + ".warmup", Serdes.ByteArray().serializer(), Serdes.ByteArray().serializer(), "job");
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, eos ? StreamsConfig.EXACTLY_ONCE_V2 : StreamsConfig.AT_LEAST_ONCE);
        props.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory(java.nio.file.Path.of(stateDir), "ks").toString());
        props.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
        KafkaStreams streams = new KafkaStreams(topology, props);
        // A stream thread that dies is replaced (and said), as a supervised Tributary product is restarted.
        streams.setUncaughtExceptionHandler(e -> {
          System.err.println("stream thread failed, replaced: " + e);
          return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        streams.start();
        // Done when the group's committed offsets reach the input's end: every output of the pass is committed.
        long deadline = System.nanoTime() + 300_000_000_000L;
        long doneNanos;
        for (;;) {
          Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(appId).partitionsToOffsetAndMetadata().get();
          boolean done = inputs.stream().allMatch(tp -> {
            OffsetAndMetadata o = committed.get(tp);
            return o != null && o.offset() >= ends.get(tp).offset();
          });
          if (done) {
            doneNanos = System.nanoTime();
            break;
          }
          if (System.nanoTime() > deadline) throw new IllegalStateException("pass " + pass + " did not finish within 300 s (state " + streams.state() + ")");
          Thread.sleep(5);
        }
        long cpu = cpuNanos() - p.startedCpu;
        double seconds = (doneNanos - p.startedNanos) / 1e9;
        streams.close();
        streams.cleanUp();
        System.out.println(String.format(Locale.ROOT, "{\"pass\":%d,\"timed\":%b,\"records\":%d,\"seconds\":%.4f,\"cpuSeconds\":%.4f}", pass, timed, expected, seconds, cpu / 1e9));
        System.out.flush();
      }
    }
  }
}
