using System.Buffers.Binary;
using StreamSegments.Core.Rules;

namespace StreamSegments.Core.State;

/// <summary>
/// The stored form of a <see cref="BuyerState"/>: compact little-endian binary, versioned, with seller and
/// category ids as UTF-8 (symbol numbers are private to a process, names are not). The buyer id is the
/// record's key and is not repeated. Not thread-safe: one codec per task (it owns its write buffer).
/// </summary>
public sealed class BuyerStateCodec
{
    private const byte FormatVersion = 1;

    private readonly SymbolTable sellers;
    private readonly SymbolTable categories;
    private byte[] buffer = new byte[1024];

    public BuyerStateCodec(SymbolTable sellers, SymbolTable categories)
    {
        this.sellers = sellers;
        this.categories = categories;
    }

    /// <summary>Encodes into the codec's buffer; the span is valid until the next call.</summary>
    public ReadOnlySpan<byte> Encode(BuyerState state)
    {
        var size = 1 + 8 + 4 + 4 + 4;
        foreach (var pair in state.Pairs)
        {
            size += 4 + sellers.NameOf(pair.Seller).Length + 1 + 8 + 8 + 4 + (pair.OrderCount * (8 + 16 + 8));
        }

        foreach (ref readonly var interest in state.Categories)
        {
            size += 4 + categories.NameOf(interest.Category).Length + 8 + 1;
        }

        size += state.SeenCount * 16;
        if (buffer.Length < size)
        {
            buffer = new byte[Math.Max(size, buffer.Length * 2)];
        }

        var w = new Writer(buffer);
        w.Byte(FormatVersion);
        w.Long(state.ScheduledTimer);
        w.Int(state.PairCount);
        foreach (var pair in state.Pairs)
        {
            w.Bytes(sellers.NameOf(pair.Seller));
            w.Byte((byte)pair.Published);
            w.Long(pair.LastOrderEver);
            w.Long(pair.LastInteraction);
            w.Int(pair.OrderCount);
            foreach (ref readonly var order in pair.Orders)
            {
                w.Long(order.At);
                w.Decimal(order.Amount);
                w.ULong(order.OrderIdHash);
            }
        }

        w.Int(state.CategoryCount);
        foreach (ref readonly var interest in state.Categories)
        {
            w.Bytes(categories.NameOf(interest.Category));
            w.Long(interest.LastInteraction);
            w.Byte(interest.Published ? (byte)1 : (byte)0);
        }

        w.Int(state.SeenCount);
        foreach (ref readonly var seen in state.Seen)
        {
            w.ULong(seen.EventIdHash);
            w.Long(seen.ForgetAt);
        }

        return buffer.AsSpan(0, w.Position);
    }

    public void Decode(ReadOnlySpan<byte> buyerId, ReadOnlySpan<byte> data, BuyerState state)
    {
        var r = new Reader(data);
        var version = r.Byte();
        if (version != FormatVersion)
        {
            throw new InvalidDataException($"Unknown buyer state format version {version}.");
        }

        state.Reset(buyerId);
        state.ScheduledTimer = r.Long();
        var pairCount = r.Int();
        for (var i = 0; i < pairCount; i++)
        {
            var seller = sellers.Intern(r.Bytes());
            var published = (Segment)r.Byte();
            var lastOrderEver = r.Long();
            var lastInteraction = r.Long();
            var orderCount = r.Int();
            var pair = state.AddPair(seller);
            pair.RestoreFrom(seller, published, lastOrderEver, lastInteraction, orderCount);
            var orders = pair.OrderSlots;
            for (var j = 0; j < orderCount; j++)
            {
                orders[j] = new OrderEntry(r.Long(), r.Decimal(), r.ULong());
            }
        }

        var categoryCount = r.Int();
        for (var i = 0; i < categoryCount; i++)
        {
            var category = categories.Intern(r.Bytes());
            state.AddCategory(new CategoryInterest(category, r.Long(), r.Byte() != 0));
        }

        var seenCount = r.Int();
        for (var i = 0; i < seenCount; i++)
        {
            state.AddSeen(new SeenEvent(r.ULong(), r.Long()));
        }
    }

    private ref struct Writer(Span<byte> span)
    {
        private readonly Span<byte> span = span;

        public int Position { get; private set; }

        public void Byte(byte value) => span[Position++] = value;

        public void Int(int value)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[Position..], value);
            Position += 4;
        }

        public void Long(long value)
        {
            BinaryPrimitives.WriteInt64LittleEndian(span[Position..], value);
            Position += 8;
        }

        public void ULong(ulong value)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span[Position..], value);
            Position += 8;
        }

        public void Decimal(decimal value)
        {
            Span<int> bits = stackalloc int[4];
            decimal.GetBits(value, bits);
            foreach (var part in bits)
            {
                Int(part);
            }
        }

        public void Bytes(ReadOnlySpan<byte> value)
        {
            Int(value.Length);
            value.CopyTo(span[Position..]);
            Position += value.Length;
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> span)
    {
        private readonly ReadOnlySpan<byte> span = span;
        private int position;

        public byte Byte() => span[position++];

        public int Int()
        {
            var value = BinaryPrimitives.ReadInt32LittleEndian(span[position..]);
            position += 4;
            return value;
        }

        public long Long()
        {
            var value = BinaryPrimitives.ReadInt64LittleEndian(span[position..]);
            position += 8;
            return value;
        }

        public ulong ULong()
        {
            var value = BinaryPrimitives.ReadUInt64LittleEndian(span[position..]);
            position += 8;
            return value;
        }

        public decimal Decimal()
        {
            Span<int> bits = [Int(), Int(), Int(), Int()];
            return new decimal(bits);
        }

        public ReadOnlySpan<byte> Bytes()
        {
            var length = Int();
            var value = span.Slice(position, length);
            position += length;
            return value;
        }
    }
}
