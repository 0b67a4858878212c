using System.Buffers.Binary;
using StreamSegments.Core.Rules;
using StreamSegments.Core.Time;

namespace StreamSegments.Core.State;

/// <summary>
/// The stored form of a <see cref="BuyerState"/>: compact binary, versioned, with seller and category ids as
/// UTF-8 (symbol numbers are private to a process, names are not). The buyer id is the record's key and is not
/// repeated. Not thread-safe: one codec per task (it owns its write buffer).
/// </summary>
/// <remarks>
/// Every buyer is read and written once per event and per timer, and with a million buyers most records live
/// on disk, so their size is what the store's memory budget, its I/O and these loops scale with. Format 2
/// therefore writes counts, lengths and amounts as variable-length integers and instants as offsets from the
/// buyer's earliest instant (a buyer's instants span about a year: five bytes instead of eight); event and
/// order id hashes stay eight fixed bytes. A typical record is about a third smaller than in format 1, which
/// wrote fixed-width fields and is still read: stores and changelogs written before hold it.
/// </remarks>
public sealed class BuyerStateCodec
{
    private const byte FixedWidthFormat = 1;
    private const byte FormatVersion = 2;

    // Amount header byte: the decimal's scale, its sign, and whether the high 32 bits of the 96-bit mantissa follow.
    private const byte AmountNegative = 0x80;
    private const byte AmountHighWord = 0x40;
    private const byte AmountScaleMask = 0x3F;

    // A pair's segment byte and an interest's published byte carry the late-pending flag in a bit their values
    // never use, so the format (and every record without the flag) stays as earlier builds wrote and read it.
    private const byte PairLatePending = 0x80;
    private const byte InterestPublished = 0x01;
    private const byte InterestLatePending = 0x02;

    // Upper bounds of encoded sizes, to size the buffer before writing.
    private const int MaxVarint = 10;
    private const int MaxAmount = 1 + (2 * MaxVarint);

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
        var size = 1 + (3 * MaxVarint) + (3 * MaxVarint);
        foreach (var pair in state.Pairs)
        {
            size += MaxVarint + sellers.NameOf(pair.Seller).Length + 1 + (3 * MaxVarint)
                + (pair.OrderCount * (MaxVarint + MaxAmount + 8));
        }

        foreach (ref readonly var interest in state.Categories)
        {
            size += MaxVarint + categories.NameOf(interest.Category).Length + MaxVarint + 1;
        }

        size += state.SeenCount * (8 + MaxVarint);
        if (buffer.Length < size)
        {
            buffer = new byte[Math.Max(size, buffer.Length * 2)];
        }

        var w = new Writer(buffer, EarliestInstant(state));
        w.Byte(FormatVersion);
        w.Base();
        w.Instant(state.ScheduledTimer);
        w.Count(state.PairCount);
        foreach (var pair in state.Pairs)
        {
            w.Name(sellers.NameOf(pair.Seller));
            w.Byte((byte)((byte)pair.Published | (pair.LatePending ? PairLatePending : 0)));
            w.Instant(pair.LastOrderEver);
            w.Instant(pair.LastInteraction);
            w.Count(pair.OrderCount);
            foreach (ref readonly var order in pair.Orders)
            {
                w.Instant(order.At);
                w.Amount(order.Amount);
                w.ULong(order.OrderIdHash);
            }
        }

        w.Count(state.CategoryCount);
        foreach (ref readonly var interest in state.Categories)
        {
            w.Name(categories.NameOf(interest.Category));
            w.Instant(interest.LastInteraction);
            w.Byte((byte)((interest.Published ? InterestPublished : 0) | (interest.LatePending ? InterestLatePending : 0)));
        }

        w.Count(state.SeenCount);
        foreach (ref readonly var seen in state.Seen)
        {
            w.ULong(seen.EventIdHash);
            w.Instant(seen.ForgetAt);
        }

        return buffer.AsSpan(0, w.Position);
    }

    public void Decode(ReadOnlySpan<byte> buyerId, ReadOnlySpan<byte> data, BuyerState state)
    {
        var r = new Reader(data);
        var version = r.Byte();
        state.Reset(buyerId);
        switch (version)
        {
            case FormatVersion:
                DecodeCompact(ref r, state);
                break;
            case FixedWidthFormat:
                DecodeFixedWidth(ref r, state);
                break;
            default:
                throw new InvalidDataException($"Unknown buyer state format version {version}.");
        }
    }

    /// <summary>The base instants are written against: the buyer's earliest one (0 when it has none).</summary>
    private static long EarliestInstant(BuyerState state)
    {
        var earliest = long.MaxValue;
        Consider(ref earliest, state.ScheduledTimer);
        foreach (var pair in state.Pairs)
        {
            Consider(ref earliest, pair.LastOrderEver);
            Consider(ref earliest, pair.LastInteraction);
            if (pair.OrderCount > 0)
            {
                Consider(ref earliest, pair.Orders[0].At);
            }
        }

        foreach (ref readonly var interest in state.Categories)
        {
            Consider(ref earliest, interest.LastInteraction);
        }

        foreach (ref readonly var seen in state.Seen)
        {
            Consider(ref earliest, seen.ForgetAt);
        }

        return earliest == long.MaxValue ? 0 : earliest;

        static void Consider(ref long earliest, long instant)
        {
            if (instant != EventTime.None && instant < earliest)
            {
                earliest = instant;
            }
        }
    }

    private void DecodeCompact(ref Reader r, BuyerState state)
    {
        r.Base();
        state.ScheduledTimer = r.Instant();
        var pairCount = r.Count();
        for (var i = 0; i < pairCount; i++)
        {
            var seller = sellers.Intern(r.Name());
            var segment = r.Byte();
            var lastOrderEver = r.Instant();
            var lastInteraction = r.Instant();
            var orderCount = r.Count();
            var pair = state.AddPair(seller);
            pair.RestoreFrom(seller, (Segment)(segment & ~PairLatePending), (segment & PairLatePending) != 0, lastOrderEver, lastInteraction, orderCount);
            var orders = pair.OrderSlots;
            for (var j = 0; j < orderCount; j++)
            {
                orders[j] = new OrderEntry(r.Instant(), r.Amount(), r.ULong());
            }
        }

        var categoryCount = r.Count();
        for (var i = 0; i < categoryCount; i++)
        {
            var category = categories.Intern(r.Name());
            var lastInteraction = r.Instant();
            var flags = r.Byte();
            state.AddCategory(new CategoryInterest(category, lastInteraction, (flags & InterestPublished) != 0)
            {
                LatePending = (flags & InterestLatePending) != 0,
            });
        }

        var seenCount = r.Count();
        for (var i = 0; i < seenCount; i++)
        {
            state.AddSeen(new SeenEvent(r.ULong(), r.Instant()));
        }
    }

    private void DecodeFixedWidth(ref Reader r, BuyerState state)
    {
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
            pair.RestoreFrom(seller, published, latePending: false, lastOrderEver, lastInteraction, orderCount);
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

    private ref struct Writer(Span<byte> span, long baseInstant)
    {
        private readonly Span<byte> span = span;

        public int Position { get; private set; }

        public void Byte(byte value) => span[Position++] = value;

        public void ULong(ulong value)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span[Position..], value);
            Position += 8;
        }

        public void Varint(ulong value)
        {
            while (value >= 0x80)
            {
                span[Position++] = (byte)(value | 0x80);
                value >>= 7;
            }

            span[Position++] = (byte)value;
        }

        public void Count(int value) => Varint((uint)value);

        /// <summary>The base instant itself, zigzag-encoded (any long).</summary>
        public void Base() => Varint((ulong)((baseInstant << 1) ^ (baseInstant >> 63)));

        /// <summary>0 for <see cref="EventTime.None"/>, else one more than the offset from the base (never negative).</summary>
        public void Instant(long instant) => Varint(instant == EventTime.None ? 0 : (ulong)(instant - baseInstant) + 1);

        public void Amount(decimal value)
        {
            Span<int> bits = stackalloc int[4];
            decimal.GetBits(value, bits);
            var flags = (uint)bits[3];
            var header = (byte)((flags >> 16) & AmountScaleMask);
            if ((flags & 0x8000_0000) != 0)
            {
                header |= AmountNegative;
            }

            if (bits[2] != 0)
            {
                header |= AmountHighWord;
            }

            Byte(header);
            Varint(((ulong)(uint)bits[1] << 32) | (uint)bits[0]);
            if (bits[2] != 0)
            {
                Varint((uint)bits[2]);
            }
        }

        public void Name(ReadOnlySpan<byte> value)
        {
            Count(value.Length);
            value.CopyTo(span[Position..]);
            Position += value.Length;
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> span)
    {
        private readonly ReadOnlySpan<byte> span = span;
        private int position;
        private long baseInstant;

        public byte Byte() => span[position++];

        public ulong ULong()
        {
            var value = BinaryPrimitives.ReadUInt64LittleEndian(span[position..]);
            position += 8;
            return value;
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = span[position++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }

                if (shift >= 63)
                {
                    throw new InvalidDataException("Malformed buyer state: a variable-length integer is too long.");
                }
            }
        }

        public int Count() => checked((int)Varint());

        public void Base()
        {
            var zigzag = Varint();
            baseInstant = (long)(zigzag >> 1) ^ -(long)(zigzag & 1);
        }

        public long Instant()
        {
            var offset = Varint();
            return offset == 0 ? EventTime.None : baseInstant + (long)(offset - 1);
        }

        public decimal Amount()
        {
            var header = Byte();
            var low = Varint();
            var high = (header & AmountHighWord) != 0 ? (int)Varint() : 0;
            return new decimal((int)low, (int)(low >> 32), high, (header & AmountNegative) != 0, (byte)(header & AmountScaleMask));
        }

        public ReadOnlySpan<byte> Name()
        {
            var length = Count();
            var value = span.Slice(position, length);
            position += length;
            return value;
        }

        // Format 1 (fixed width).
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
