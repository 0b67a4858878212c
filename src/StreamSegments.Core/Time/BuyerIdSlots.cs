namespace StreamSegments.Core.Time;

/// <summary>
/// Buyer ids held by the <see cref="TimerQueue"/>, each in a fixed-size slot of one growing array; a removed
/// slot is reused by the next id. Ids longer than <see cref="InlineBytes"/> (rare: a textual UUID is 36 bytes)
/// are kept as arrays on the side.
/// </summary>
internal sealed class BuyerIdSlots
{
    /// <summary>Bytes of id a slot holds inline.</summary>
    public const int InlineBytes = 47;

    // A slot is one length byte then the id; the length byte is LongId for an id kept in longIds.
    private const int SlotBytes = InlineBytes + 1;
    private const byte LongId = byte.MaxValue;

    private readonly Dictionary<int, byte[]> longIds = [];
    private byte[] slots = new byte[1024 * SlotBytes];
    private int[] free = new int[1024];
    private int freeCount;
    private int used;

    public ReadOnlySpan<byte> this[int slot]
    {
        get
        {
            var length = slots[slot * SlotBytes];
            return length == LongId ? longIds[slot] : slots.AsSpan((slot * SlotBytes) + 1, length);
        }
    }

    public int Add(ReadOnlySpan<byte> id)
    {
        int slot;
        if (freeCount > 0)
        {
            slot = free[--freeCount];
        }
        else
        {
            if ((used + 1) * SlotBytes > slots.Length)
            {
                Array.Resize(ref slots, slots.Length * 2);
            }

            slot = used++;
        }

        var at = slot * SlotBytes;
        if (id.Length <= InlineBytes)
        {
            slots[at] = (byte)id.Length;
            id.CopyTo(slots.AsSpan(at + 1));
        }
        else
        {
            slots[at] = LongId;
            longIds[slot] = id.ToArray();
        }

        return slot;
    }

    public void Remove(int slot)
    {
        if (slots[slot * SlotBytes] == LongId)
        {
            longIds.Remove(slot);
        }

        if (freeCount == free.Length)
        {
            Array.Resize(ref free, free.Length * 2);
        }

        free[freeCount++] = slot;
    }
}
