using System.Buffers;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using StreamSegments.Core.State;
using StreamSegments.Core.Time;

namespace StreamSegments.Core.Events;

/// <summary>
/// Parses and validates one input record (the JSON value that travels on the topics) into a reused
/// <see cref="BuyerEvent"/>, or says why it is invalid. Allocation-free for valid records: Utf8JsonReader over
/// the caller's bytes, unescaped strings in a reused scratch buffer, ids interned or hashed. Not thread-safe:
/// one parser per task.
/// </summary>
public sealed class EventParser
{
    public const int MaxEventBytes = 1 << 20;

    /// <summary>Why an event over <see cref="MaxEventBytes"/> is rejected, wherever its size is checked.</summary>
    public static readonly EventRejection TooLarge = new(RejectReason.TooLarge, Detail: "1 MiB");

    /// <summary>
    /// Longest buyer, seller or category id (UTF-8 bytes). These ids are stored (state keys, every buyer record
    /// of a seller, changelog keys) and a state record must fit in one page of the smallest store and a changelog
    /// record in one Kafka message; real ids are far shorter. Event, order and product ids are only hashed.
    /// </summary>
    public const int MaxStoredIdBytes = 16 * 1024;
    public static readonly decimal MaxAmount = 1_000_000_000_000_000m;

    private const string TypeField = "type";
    private const string EventIdField = "eventId";
    private const string OccurredAtField = "occurredAt";
    private const string BuyerIdField = "buyerId";
    private const string SellerIdField = "sellerId";
    private const string OrderIdField = "orderId";
    private const string AmountField = "amount";
    private const string CurrencyField = "currency";
    private const string ItemsField = "items";
    private const string ProductIdField = "productId";
    private const string CategoryIdField = "categoryId";
    private const string QuantityField = "quantity";
    private const string PriceField = "price";

    private static readonly (Fields Field, string Name, byte[] Utf8)[] KnownFields =
    [
        .. new (Fields, string)[]
        {
            (Fields.Type, TypeField), (Fields.EventId, EventIdField), (Fields.OccurredAt, OccurredAtField),
            (Fields.BuyerId, BuyerIdField), (Fields.SellerId, SellerIdField), (Fields.OrderId, OrderIdField),
            (Fields.Amount, AmountField), (Fields.Currency, CurrencyField), (Fields.Items, ItemsField),
            (Fields.ProductId, ProductIdField), (Fields.CategoryId, CategoryIdField), (Fields.Quantity, QuantityField),
            (Fields.Price, PriceField),
        }.Select(f => (f.Item1, f.Item2, Encoding.UTF8.GetBytes(f.Item2))),
    ];

    private readonly SymbolTable sellers;
    private readonly SymbolTable categories;
    private byte[] scratch = new byte[1024];
    private int scratchUsed;
    private Slice[] itemCategories = new Slice[8];
    private int itemCount;

    // Failures of fields that belong to some event types only (the first per field), kept until the type is known:
    // a field the event's type does not have is not validated (the schemas allow any additional property).
    private readonly (Fields Field, EventRejection Rejection)[] deferred = new (Fields, EventRejection)[16];
    private int deferredCount;
    private Fields deferredFields;

    public EventParser(SymbolTable sellers, SymbolTable categories)
    {
        this.sellers = sellers;
        this.categories = categories;
    }

    /// <summary>The most of a field's text a rejection message quotes.</summary>
    public const int MaxExcerptBytes = 64;

    public bool TryParse(ReadOnlySpan<byte> utf8, BuyerEvent result, out EventRejection rejection)
    {
        if (utf8.Length > MaxEventBytes)
        {
            rejection = TooLarge;
            return false;
        }

        // RFC 8259 lets a parser ignore a byte order mark; files saved by some editors start with one.
        if (utf8.StartsWith("\uFEFF"u8))
        {
            utf8 = utf8[3..];
        }

        scratchUsed = 0;
        itemCount = 0;
        deferredCount = 0;
        deferredFields = 0;
        try
        {
            return TryParseCore(utf8, result, out rejection);
        }
        catch (JsonException ex)
        {
            rejection = new EventRejection(RejectReason.MalformedJson, Detail: Describe(ex));
            return false;
        }
        catch (InvalidOperationException ex)
        {
            // Utf8JsonReader reports invalid UTF-8 and bad escapes in strings this way.
            rejection = new EventRejection(RejectReason.MalformedJson, Detail: ex.Message);
            return false;
        }
#pragma warning disable CA1031 // A failure no check foresaw must cost one record, not the stream: the same record would stop every restart.
        catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            rejection = new EventRejection(RejectReason.Unparseable, Detail: ex.GetType().Name);
            return false;
        }
    }

    private bool TryParseCore(ReadOnlySpan<byte> utf8, BuyerEvent result, out EventRejection rejection)
    {
        // Extra properties are allowed, however deep: a line cannot nest deeper than it has bytes, and the reader
        // keeps one bit per level, so the depth needs no limit of its own below the size limit.
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = MaxEventBytes });
        if (!reader.Read())
        {
            rejection = new EventRejection(RejectReason.MalformedJson, Detail: "empty input");
            return false;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            // Read the whole value so that garbage ("{" missing, binary) is reported as malformed, not as non-object.
            reader.Skip();
            while (reader.Read())
            {
            }

            rejection = new EventRejection(RejectReason.NotAnObject);
            return false;
        }

        Fields seen = 0;
        Slice type = default, eventId = default, occurredAt = default, buyerId = default, sellerId = default;
        Slice orderId = default, categoryId = default;
        decimal amount = 0;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = Identify(ref reader);
            reader.Read();
            if (field == Fields.None)
            {
                reader.Skip();
                continue;
            }

            if ((seen & field) != 0)
            {
                rejection = new EventRejection(RejectReason.DuplicateField, NameOf(field));
                if ((field & CommonFields) == 0)
                {
                    Defer(field, rejection);
                    reader.Skip();
                    continue;
                }

                return false;
            }

            seen |= field;
            bool ok;
            switch (field)
            {
                case Fields.Type: ok = TryReadId(ref reader, TypeField, out type, out rejection); break;
                case Fields.EventId: ok = TryReadId(ref reader, EventIdField, out eventId, out rejection); break;
                case Fields.OccurredAt: ok = TryReadId(ref reader, OccurredAtField, out occurredAt, out rejection); break;
                case Fields.BuyerId: ok = TryReadStoredId(ref reader, BuyerIdField, out buyerId, out rejection); break;
                case Fields.SellerId: ok = TryReadStoredId(ref reader, SellerIdField, out sellerId, out rejection); break;
                case Fields.OrderId: ok = TryReadId(ref reader, OrderIdField, out orderId, out rejection); break;
                case Fields.ProductId: ok = TryReadId(ref reader, ProductIdField, out _, out rejection); break;
                case Fields.CategoryId: ok = TryReadStoredId(ref reader, CategoryIdField, out categoryId, out rejection); break;
                case Fields.Amount: ok = TryReadMoney(ref reader, AmountField, out amount, out rejection); break;
                case Fields.Quantity: ok = TryReadQuantity(ref reader, out rejection); break;
                case Fields.Currency: ok = TryReadOptionalString(ref reader, CurrencyField, out rejection); break;
                case Fields.Items: ok = TryReadItemsOrSkip(ref reader, out rejection); break;
                default: throw new InvalidOperationException("unreachable");
            }

            if (!ok)
            {
                if ((field & CommonFields) != 0)
                {
                    return false;
                }

                Defer(field, rejection);
                reader.Skip();
            }
        }

        // Any trailing content after the object is a syntax error; the reader throws on it.
        while (reader.Read())
        {
        }

        if ((seen & Fields.Type) == 0)
        {
            rejection = new EventRejection(RejectReason.MissingField, TypeField);
            return false;
        }

        if (!EventKinds.TryParse(Bytes(type), out var kind))
        {
            rejection = new EventRejection(RejectReason.UnknownType, TypeField, Excerpt(Bytes(type)));
            return false;
        }

        var own = FieldsOf(kind);
        for (var i = 0; i < deferredCount; i++)
        {
            if ((deferred[i].Field & own) != 0)
            {
                rejection = deferred[i].Rejection;
                return false;
            }
        }

        var required = Fields.EventId | Fields.OccurredAt | Fields.BuyerId | Fields.SellerId
            | (kind == EventKind.OrderPaid ? Fields.OrderId | Fields.Amount : Fields.ProductId | Fields.CategoryId);
        var missing = required & ~seen;
        if (missing != 0)
        {
            rejection = new EventRejection(RejectReason.MissingField, NameOf(Lowest(missing)));
            return false;
        }

        if (!EventTime.TryParse(Bytes(occurredAt), out var at))
        {
            rejection = new EventRejection(RejectReason.InvalidTime, OccurredAtField, Excerpt(Bytes(occurredAt)));
            return false;
        }

        result.Kind = kind;
        result.OccurredAt = at;
        result.EventIdHash = XxHash3.HashToUInt64(Bytes(eventId));
        result.SetBuyerId(Bytes(buyerId));
        result.Seller = sellers.Intern(Bytes(sellerId));
        result.ClearItems();
        if (kind == EventKind.OrderPaid)
        {
            result.Category = -1;
            result.OrderIdHash = XxHash3.HashToUInt64(Bytes(orderId));
            result.Amount = amount;
            for (var i = 0; i < itemCount; i++)
            {
                result.AddItemCategory(categories.Intern(Bytes(itemCategories[i])));
            }
        }
        else
        {
            result.Category = categories.Intern(Bytes(categoryId));
            result.OrderIdHash = 0;
            result.Amount = 0;
        }

        rejection = default;
        return true;
    }

    /// <summary>The fields an event of <paramref name="kind"/> has (its row of the contract's input table).</summary>
    private static Fields FieldsOf(EventKind kind) => kind switch
    {
        EventKind.OrderPaid => CommonFields | Fields.OrderId | Fields.Amount | Fields.Currency | Fields.Items,
        EventKind.CartItemAdded or EventKind.CartItemRemoved => CommonFields | Fields.ProductId | Fields.CategoryId | Fields.Quantity,
        _ => CommonFields | Fields.ProductId | Fields.CategoryId,
    };

    private void Defer(Fields field, in EventRejection rejection)
    {
        if ((deferredFields & field) == 0)
        {
            deferredFields |= field;
            deferred[deferredCount++] = (field, rejection);
        }
    }

    /// <summary>
    /// Reads the items; when they are invalid, leaves the reader on the value's first token, as the other fields'
    /// readers do (an array can fail part way through), so that the caller can skip it if its type has no items.
    /// </summary>
    private bool TryReadItemsOrSkip(ref Utf8JsonReader reader, out EventRejection rejection)
    {
        var start = reader;
        if (TryReadItems(ref reader, out rejection))
        {
            return true;
        }

        reader = start;
        return false;
    }

    private bool TryReadItems(ref Utf8JsonReader reader, out EventRejection rejection)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            rejection = default;
            return true;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            rejection = new EventRejection(RejectReason.WrongType, ItemsField, "an array");
            return false;
        }

        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                rejection = new EventRejection(RejectReason.WrongType, ItemsField, "an array of objects");
                return false;
            }

            Fields seen = 0;
            Slice category = default;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var field = Identify(ref reader);
                reader.Read();
                if (field is not (Fields.ProductId or Fields.CategoryId or Fields.Quantity or Fields.Price))
                {
                    reader.Skip();
                    continue;
                }

                if ((seen & field) != 0)
                {
                    rejection = new EventRejection(RejectReason.DuplicateField, $"{ItemsField}[].{NameOf(field)}");
                    return false;
                }

                seen |= field;
                var ok = field switch
                {
                    Fields.ProductId => TryReadId(ref reader, $"{ItemsField}[].{ProductIdField}", out _, out rejection),
                    Fields.CategoryId => TryReadStoredId(ref reader, $"{ItemsField}[].{CategoryIdField}", out category, out rejection),
                    Fields.Quantity => TryReadQuantity(ref reader, out rejection),
                    _ => TryReadMoney(ref reader, $"{ItemsField}[].{PriceField}", out _, out rejection),
                };
                if (!ok)
                {
                    return false;
                }
            }

            var missing = (Fields.ProductId | Fields.CategoryId) & ~seen;
            if (missing != 0)
            {
                rejection = new EventRejection(RejectReason.MissingField, $"{ItemsField}[].{NameOf(Lowest(missing))}");
                return false;
            }

            if (itemCount == itemCategories.Length)
            {
                Array.Resize(ref itemCategories, itemCount * 2);
            }

            itemCategories[itemCount++] = category;
        }

        rejection = default;
        return true;
    }

    private bool TryReadStoredId(ref Utf8JsonReader reader, string field, out Slice slice, out EventRejection rejection)
    {
        if (!TryReadId(ref reader, field, out slice, out rejection))
        {
            return false;
        }

        if (slice.Length > MaxStoredIdBytes)
        {
            rejection = new EventRejection(RejectReason.IdTooLong, field, $"{MaxStoredIdBytes} bytes");
            return false;
        }

        return true;
    }

    private bool TryReadId(ref Utf8JsonReader reader, string field, out Slice slice, out EventRejection rejection)
    {
        slice = default;
        if (reader.TokenType != JsonTokenType.String)
        {
            rejection = new EventRejection(RejectReason.WrongType, field, "a string");
            return false;
        }

        try
        {
            slice = Copy(ref reader);
        }
        catch (InvalidOperationException)
        {
            // An escaped lone surrogate ("\ud800") is valid JSON but not text: it cannot be an id.
            rejection = new EventRejection(RejectReason.InvalidUtf8, field);
            return false;
        }

        if (slice.Length == 0)
        {
            rejection = new EventRejection(RejectReason.EmptyField, field);
            return false;
        }

        if (!Utf8.IsValid(Bytes(slice)))
        {
            rejection = new EventRejection(RejectReason.InvalidUtf8, field);
            return false;
        }

        rejection = default;
        return true;
    }

    private static bool TryReadOptionalString(ref Utf8JsonReader reader, string field, out EventRejection rejection)
    {
        if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null))
        {
            rejection = new EventRejection(RejectReason.WrongType, field, "a string");
            return false;
        }

        rejection = default;
        return true;
    }

    private static bool TryReadMoney(ref Utf8JsonReader reader, string field, out decimal value, out EventRejection rejection)
    {
        value = 0;
        if (reader.TokenType != JsonTokenType.Number)
        {
            rejection = new EventRejection(RejectReason.WrongType, field, "a number");
            return false;
        }

        // TryGetDecimal rounds to 28-29 significant digits, so a number a hair outside [0, 10^15] can read as a bound
        // itself: at a bound, the number's own text decides.
        if (!reader.TryGetDecimal(out value) || value < 0 || value > MaxAmount
            || ((value == 0 || value == MaxAmount) && OutsideAmountRange(reader.HasValueSequence ? (ReadOnlySpan<byte>)reader.ValueSequence.ToArray() : reader.ValueSpan)))
        {
            rejection = new EventRejection(RejectReason.OutOfRange, field, "must be between 0 and 10^15");
            return false;
        }

        rejection = default;
        return true;
    }

    /// <summary>
    /// Whether a JSON number's text is exactly below 0 or above 10^15 (only asked when its rounded value is a bound).
    /// Decided from the digits and the exponent alone: an exponent can have any number of digits
    /// (<c>0e99999999999</c> is a valid 0), so nothing here may scale with its value.
    /// </summary>
    private static bool OutsideAmountRange(ReadOnlySpan<byte> number)
    {
        var negative = number[0] == (byte)'-';
        var end = number.IndexOfAny((byte)'e', (byte)'E');
        var mantissa = end < 0 ? number : number[..end];
        var point = mantissa.IndexOf((byte)'.');
        var integer = point < 0 ? mantissa : mantissa[..point];
        var fraction = point < 0 ? [] : mantissa[(point + 1)..];
        if (negative)
        {
            integer = integer[1..];
        }

        // The first significant digit, its power of ten, and whether any nonzero digit follows it.
        var leadingIntegerZeros = integer.IndexOfAnyExcept((byte)'0');
        long firstDigitPower;
        byte firstDigit;
        bool moreDigits;
        if (leadingIntegerZeros >= 0)
        {
            firstDigitPower = integer.Length - leadingIntegerZeros - 1;
            firstDigit = integer[leadingIntegerZeros];
            moreDigits = integer[(leadingIntegerZeros + 1)..].IndexOfAnyExcept((byte)'0') >= 0 || fraction.IndexOfAnyExcept((byte)'0') >= 0;
        }
        else
        {
            var leadingFractionZeros = fraction.IndexOfAnyExcept((byte)'0');
            if (leadingFractionZeros < 0)
            {
                return false; // zero (or minus zero), whatever the exponent
            }

            firstDigitPower = -leadingFractionZeros - 1;
            firstDigit = fraction[leadingFractionZeros];
            moreDigits = fraction[(leadingFractionZeros + 1)..].IndexOfAnyExcept((byte)'0') >= 0;
        }

        if (negative)
        {
            return true;
        }

        var power = firstDigitPower + (end < 0 ? 0 : Exponent(number[(end + 1)..]));
        return power > 15 || (power == 15 && (moreDigits || firstDigit > (byte)'1'));
    }

    /// <summary>
    /// A field's text for a rejection message, cut to <see cref="MaxExcerptBytes"/>: the message travels in a
    /// dead letter's header, which must stay far below the broker's message size even for a 1 MiB field.
    /// </summary>
    internal static string Excerpt(ReadOnlySpan<byte> text)
    {
        if (text.Length <= MaxExcerptBytes)
        {
            return Encoding.UTF8.GetString(text);
        }

        var cut = MaxExcerptBytes;
        while (cut > 0 && (text[cut] & 0xC0) == 0x80)
        {
            cut--; // not inside a character
        }

        return $"{Encoding.UTF8.GetString(text[..cut])}... ({text.Length} bytes)";
    }

    /// <summary>A JSON number's exponent, saturated far beyond any line's digits (a line is at most 1 MiB).</summary>
    private static long Exponent(ReadOnlySpan<byte> text)
    {
        const long Saturated = 1L << 40;
        var sign = text[0] == (byte)'-' ? -1 : 1;
        long value = 0;
        foreach (var b in text[(text[0] is (byte)'-' or (byte)'+' ? 1 : 0)..])
        {
            value = Math.Min(Saturated, (value * 10) + (b - '0'));
        }

        return sign * value;
    }

    private static bool TryReadQuantity(ref Utf8JsonReader reader, out EventRejection rejection)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            rejection = default;
            return true;
        }

        // A whole number, as JSON Schema's "integer" means it: 2.0 is one, 2.5 is not.
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDecimal(out var quantity) || quantity != decimal.Truncate(quantity))
        {
            rejection = new EventRejection(RejectReason.WrongType, QuantityField, "a whole number");
            return false;
        }

        if (quantity < 0)
        {
            rejection = new EventRejection(RejectReason.OutOfRange, QuantityField, "must not be negative");
            return false;
        }

        rejection = default;
        return true;
    }

    private Slice Copy(ref Utf8JsonReader reader)
    {
        var length = reader.HasValueSequence ? (int)reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (scratch.Length - scratchUsed < length)
        {
            Array.Resize(ref scratch, Math.Max(scratch.Length * 2, scratchUsed + length));
        }

        var written = reader.CopyString(scratch.AsSpan(scratchUsed));
        var slice = new Slice(scratchUsed, written);
        scratchUsed += written;
        return slice;
    }

    private ReadOnlySpan<byte> Bytes(Slice slice) => scratch.AsSpan(slice.Start, slice.Length);

    private static Fields Identify(ref Utf8JsonReader reader)
    {
        // Escaped property names are legal but rare; compare their unescaped text.
        var escaped = reader.ValueIsEscaped ? reader.GetString() : null;
        foreach (var (field, name, utf8) in KnownFields)
        {
            if (escaped is null ? reader.ValueSpan.SequenceEqual(utf8) : escaped == name)
            {
                return field;
            }
        }

        return Fields.None;
    }

    private static Fields Lowest(Fields set) => (Fields)((int)set & -(int)set);

    private static string NameOf(Fields field) => Array.Find(KnownFields, k => k.Field == field).Name ?? "?";

    private static string Describe(JsonException ex) =>
        ex.BytePositionInLine is { } position ? $"{FirstSentence(ex.Message)} (byte {position})" : FirstSentence(ex.Message);

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(" LineNumber", StringComparison.Ordinal);
        return (end > 0 ? message[..end] : message).TrimEnd(' ', '.');
    }

    private const Fields CommonFields = Fields.Type | Fields.EventId | Fields.OccurredAt | Fields.BuyerId | Fields.SellerId;

    private readonly record struct Slice(int Start, int Length);

    [Flags]
    private enum Fields
    {
        None = 0,
        Type = 1 << 0,
        EventId = 1 << 1,
        OccurredAt = 1 << 2,
        BuyerId = 1 << 3,
        SellerId = 1 << 4,
        OrderId = 1 << 5,
        Amount = 1 << 6,
        ProductId = 1 << 7,
        CategoryId = 1 << 8,
        Currency = 1 << 9,
        Items = 1 << 10,
        Quantity = 1 << 11,
        Price = 1 << 12,
    }
}
