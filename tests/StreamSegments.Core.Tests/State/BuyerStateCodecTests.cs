using System.Buffers.Binary;
using StreamSegments.Core.Rules;
using StreamSegments.Core.State;
using StreamSegments.Core.Time;

namespace StreamSegments.Core.Tests.State;

public class BuyerStateCodecTests
{
    private readonly SymbolTable sellers = new();
    private readonly SymbolTable categories = new();

    [Fact]
    public void A_buyer_survives_encoding_exactly_amount_scales_and_absent_instants_included()
    {
        var state = new BuyerState();
        state.Reset("b-1"u8);
        state.ScheduledTimer = EventTime.Parse("2026-09-01T00:00:00.001Z");
        var pair = state.AddPair(sellers.Intern("s-1"u8));
        pair.Published = Segment.RegularLoyal;
        pair.AddOrder(new OrderEntry(EventTime.Parse("2025-06-01T10:00:00Z"), 100.50m, ulong.MaxValue));
        pair.AddOrder(new OrderEntry(EventTime.Parse("2026-06-01T10:00:00.999Z"), 0m, 7));
        pair.AddOrder(new OrderEntry(EventTime.Parse("2026-06-02T00:00:00Z"), 123456789.0123456789012345678m, 8));
        pair.AddOrder(new OrderEntry(EventTime.Parse("2026-06-03T00:00:00Z"), -1.5m, 9));
        var browsed = state.AddPair(sellers.Intern(new byte[300]));
        browsed.RecordInteraction(EventTime.Parse("2026-07-01T00:00:00Z"));
        state.AddCategory(new CategoryInterest(categories.Intern("c-1"u8), EventTime.Parse("2026-07-01T00:00:00Z"), Published: true));
        state.AddCategory(new CategoryInterest(categories.Intern("c-2"u8), EventTime.None, Published: false));
        state.AddSeen(new SeenEvent(42, EventTime.Parse("2026-09-29T10:00:00Z")));

        var codec = new BuyerStateCodec(sellers, categories);
        var decoded = new BuyerState();
        codec.Decode("b-1"u8, codec.Encode(state), decoded);

        Assert.Equal(Describe(state), Describe(decoded));
        Assert.Equal("100.50", decoded.Pairs[0].Orders[0].Amount.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Late_pending_flags_survive_encoding_and_leave_a_record_without_them_as_before()
    {
        var state = new BuyerState();
        state.Reset("b-4"u8);
        var pair = state.AddPair(sellers.Intern("s-1"u8));
        pair.Published = Segment.RegularRisky;
        pair.RecordInteraction(EventTime.Parse("2026-07-01T00:00:00Z"));
        ref var interest = ref state.AddCategory(new CategoryInterest(categories.Intern("c-1"u8), EventTime.Parse("2026-07-01T00:00:00Z"), Published: true));
        var codec = new BuyerStateCodec(sellers, categories);
        var without = codec.Encode(state).ToArray();

        pair.LatePending = true;
        interest.LatePending = true;
        var with = codec.Encode(state).ToArray();
        var decoded = new BuyerState();
        codec.Decode("b-4"u8, with, decoded);

        Assert.Equal(Describe(state), Describe(decoded));
        Assert.Equal((Segment.RegularRisky, true), (decoded.Pairs[0].Published, decoded.Pairs[0].LatePending));
        Assert.Equal((true, true), (decoded.Categories[0].Published, decoded.Categories[0].LatePending));

        // The flags ride in bits the values never use (the pair's segment byte, the interest's published byte), so a
        // record without them is byte for byte what builds before the flags wrote.
        Assert.Equal(without.Length, with.Length);
        Assert.Equal([0x80, 0x02], without.Zip(with, (a, b) => a ^ b).Where(x => x != 0));
    }

    [Fact]
    public void A_buyer_with_no_instant_at_all_survives_encoding()
    {
        var state = new BuyerState();
        state.Reset("b-2"u8);
        state.AddPair(sellers.Intern("s-1"u8));

        var codec = new BuyerStateCodec(sellers, categories);
        var decoded = new BuyerState();
        codec.Decode("b-2"u8, codec.Encode(state), decoded);

        Assert.Equal(Describe(state), Describe(decoded));
    }

    [Fact]
    public void Records_of_the_fixed_width_format_1_are_still_read()
    {
        // Format 1, as written before format 2: version, timer, then length-prefixed fixed-width fields.
        var data = new List<byte> { 1 };
        Long(data, 5_000);
        Int(data, 1);
        Bytes(data, "s-1"u8);
        data.Add((byte)Segment.New);
        Long(data, 4_000);
        Long(data, EventTime.None);
        Int(data, 1);
        Long(data, 4_000);
        foreach (var part in decimal.GetBits(12.30m))
        {
            Int(data, part);
        }

        Long(data, 99);
        Int(data, 1);
        Bytes(data, "c-1"u8);
        Long(data, 3_000);
        data.Add(1);
        Int(data, 1);
        Long(data, 77);
        Long(data, 6_000);

        var decoded = new BuyerState();
        new BuyerStateCodec(sellers, categories).Decode("b-3"u8, data.ToArray(), decoded);

        Assert.Equal(
            "b-3 timer 5000 | s-1 New ever 4000 interaction None orders [4000 12.30 99] | c-1 3000 True | seen [77 6000]",
            Describe(decoded));
    }

    private string Describe(BuyerState state)
    {
        var pairs = string.Join(" | ", state.Pairs.ToArray().Select(p =>
            $"{sellers.TextOf(p.Seller)} {p.Published}{(p.LatePending ? " late" : "")} ever {Instant(p.LastOrderEver)} interaction {Instant(p.LastInteraction)} orders [" +
            string.Join(", ", p.Orders.ToArray().Select(o => $"{o.At} {o.Amount.ToString(System.Globalization.CultureInfo.InvariantCulture)} {o.OrderIdHash}")) + "]"));
        var interests = string.Join(" | ", state.Categories.ToArray().Select(c => $"{categories.TextOf(c.Category)} {Instant(c.LastInteraction)} {c.Published}{(c.LatePending ? " late" : "")}"));
        var seen = string.Join(", ", state.Seen.ToArray().Select(s => $"{s.EventIdHash} {s.ForgetAt}"));
        return $"{System.Text.Encoding.UTF8.GetString(state.BuyerId)} timer {Instant(state.ScheduledTimer)} | {pairs} | {interests} | seen [{seen}]";
    }

    private static string Instant(long instant) => instant == EventTime.None ? "None" : instant.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static void Int(List<byte> data, int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        data.AddRange(bytes);
    }

    private static void Long(List<byte> data, long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        data.AddRange(bytes);
    }

    private static void Bytes(List<byte> data, ReadOnlySpan<byte> value)
    {
        Int(data, value.Length);
        data.AddRange(value.ToArray());
    }
}
