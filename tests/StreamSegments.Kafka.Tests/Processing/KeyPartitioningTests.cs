using System.Text;
using StreamSegments.Kafka.Processing;

namespace StreamSegments.Kafka.Tests.Processing;

public sealed class KeyPartitioningTests
{
    [Theory]
    // Kafka's own vectors (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, testMurmur2).
    [InlineData("21", -973932308)]
    [InlineData("foobar", -790332482)]
    [InlineData("a-little-bit-long-string", -985981536)]
    [InlineData("a-little-bit-longer-string", -1486304829)]
    [InlineData("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971)]
    [InlineData("abc", 479470107)]
    public void Murmur2_is_the_java_clients_hash(string key, int expected) =>
        Assert.Equal(expected, (int)KeyPartitioning.Murmur2(Encoding.ASCII.GetBytes(key)));

    [Fact]
    public void Crc32_is_the_standard_crc32_and_each_partitioner_takes_its_hash_modulo_the_partition_count()
    {
        // CRC-32's check value; librdkafka's consistent partitioner is rd_crc32(key) % partitions.
        var key = "123456789"u8;
        Assert.Equal((int)(0xCBF43926u % 7), KeyPartitioning.PartitionOf(InputPartitioner.Crc32, key, 7));

        // murmur2 made positive, as the Java client's toPositive.
        Assert.Equal((-790332482 & 0x7fffffff) % 12, KeyPartitioning.PartitionOf(InputPartitioner.Murmur2, "foobar"u8, 12));
        Assert.Equal(-1, KeyPartitioning.PartitionOf(InputPartitioner.Any, key, 7));
    }
}
