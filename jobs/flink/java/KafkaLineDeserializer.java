package rankstream.flink;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * A Kafka record as one line for the rankstream update job: {@code topic US partition US offset US value},
 * US being the unit separator U+001F (no Kafka topic name, number or raw JSON text holds it). A value that is
 * not UTF-8 (or a tombstone) never fails the job: it becomes U+0000 plus the reason, which the Python side
 * reports as a bad message with its topic, partition and offset.
 */
public class KafkaLineDeserializer implements KafkaRecordDeserializationSchema<String> {
    private static final long serialVersionUID = 1L;
    static final char SEP = '\u001f';

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<String> out) {
        String head = record.topic() + SEP + record.partition() + SEP + record.offset() + SEP;
        out.collect(head + text(record.value()));
    }

    static String text(byte[] value) {
        if (value == null) {
            return "\u0000message has no value (tombstone)";
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(value))
                    .toString();
        } catch (CharacterCodingException e) {
            return "\u0000message is not valid UTF-8";
        }
    }

    @Override
    public TypeInformation<String> getProducedType() {
        return Types.STRING;
    }
}
