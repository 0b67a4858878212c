using System.Buffers.Binary;
using System.IO.Hashing;

namespace StreamSegments.Kafka.Processing;

/// <summary>
/// The partitioner the producers of the input topics use, which <see cref="SegmentStreamOptions.InputPartitioner"/>
/// lets the worker check every record against. All four topics must place a buyer on one partition number; a record
/// elsewhere is in another task than the buyer's other records, and both tasks would publish segments for its pairs.
/// </summary>
public enum InputPartitioner
{
    /// <summary>No check: the producers are trusted to agree.</summary>
    Any = 0,

    /// <summary>Kafka's Java producer and Kafka Streams; librdkafka's <c>murmur2_random</c>.</summary>
    Murmur2 = 1,

    /// <summary>librdkafka's default (<c>consistent_random</c>), and so Confluent.Kafka's, kcat's and this project's demo.</summary>
    Crc32 = 2,
}

/// <summary>Where a partitioner puts a (non-empty) key.</summary>
public static class KeyPartitioning
{
    /// <summary>The partition <paramref name="partitioner"/> chooses for <paramref name="key"/>; -1 for <see cref="InputPartitioner.Any"/>.</summary>
    public static int PartitionOf(InputPartitioner partitioner, ReadOnlySpan<byte> key, int partitions) => partitioner switch
    {
        InputPartitioner.Murmur2 => (int)((Murmur2(key) & 0x7fffffff) % (uint)partitions),
        InputPartitioner.Crc32 => (int)(Crc32.HashToUInt32(key) % (uint)partitions),
        _ => -1,
    };

    /// <summary>Kafka's <c>org.apache.kafka.common.utils.Utils.murmur2</c> (seed 0x9747b28c), as librdkafka's <c>rd_murmur2</c>.</summary>
    public static uint Murmur2(ReadOnlySpan<byte> key)
    {
        const uint M = 0x5bd1e995;
        var h = 0x9747b28c ^ (uint)key.Length;
        var blocks = key.Length & ~3;
        for (var i = 0; i < blocks; i += 4)
        {
            var k = BinaryPrimitives.ReadUInt32LittleEndian(key[i..]) * M;
            k ^= k >> 24;
            h = (h * M) ^ (k * M);
        }

        switch (key.Length & 3)
        {
            case 3:
                h ^= (uint)key[blocks + 2] << 16;
                goto case 2;
            case 2:
                h ^= (uint)key[blocks + 1] << 8;
                goto case 1;
            case 1:
                h ^= key[blocks];
                h *= M;
                break;
        }

        h ^= h >> 13;
        h *= M;
        return h ^ (h >> 15);
    }
}
