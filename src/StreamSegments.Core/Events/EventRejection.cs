namespace StreamSegments.Core.Events;

public enum RejectReason : byte
{
    TooLarge = 1,
    MalformedJson,
    NotAnObject,
    MissingField,
    EmptyField,
    WrongType,
    DuplicateField,
    InvalidUtf8,
    InvalidTime,
    OutOfRange,
    UnknownType,
    InFuture,
    IdTooLong,
    Unparseable,

    /// <summary>A Kafka record whose key is not its event's buyerId (the worker only: replay lines have no key).</summary>
    KeyMismatch,

    /// <summary>A Kafka record on another partition than its key's (the worker only, with Kafka:InputPartitioner set).</summary>
    WrongPartition,
}

/// <summary>Why an input record was rejected: a machine-readable reason, the field at fault, and detail.</summary>
public readonly record struct EventRejection(RejectReason Reason, string? Field = null, string? Detail = null)
{
    /// <summary>Stable kebab-case code, for metrics and dead-letter headers.</summary>
    public string Code => Reason switch
    {
        RejectReason.TooLarge => "too-large",
        RejectReason.MalformedJson => "malformed-json",
        RejectReason.NotAnObject => "not-an-object",
        RejectReason.MissingField => "missing-field",
        RejectReason.EmptyField => "empty-field",
        RejectReason.WrongType => "wrong-type",
        RejectReason.DuplicateField => "duplicate-field",
        RejectReason.InvalidUtf8 => "invalid-utf8",
        RejectReason.InvalidTime => "invalid-time",
        RejectReason.OutOfRange => "out-of-range",
        RejectReason.UnknownType => "unknown-type",
        RejectReason.InFuture => "in-future",
        RejectReason.IdTooLong => "id-too-long",
        RejectReason.Unparseable => "unparseable",
        RejectReason.KeyMismatch => "key-mismatch",
        RejectReason.WrongPartition => "wrong-partition",
        _ => "invalid",
    };

    public string Message => Reason switch
    {
        RejectReason.TooLarge => $"event is larger than {Detail}",
        RejectReason.MalformedJson => $"malformed JSON: {Detail}",
        RejectReason.NotAnObject => "event is not a JSON object",
        RejectReason.MissingField => $"missing field '{Field}'",
        RejectReason.EmptyField => $"field '{Field}' must not be empty",
        RejectReason.WrongType => $"field '{Field}' must be {Detail}",
        RejectReason.DuplicateField => $"field '{Field}' appears more than once",
        RejectReason.InvalidUtf8 => $"field '{Field}' is not valid UTF-8",
        RejectReason.InvalidTime => $"field '{Field}' is not an RFC 3339 UTC instant: {Detail}",
        RejectReason.OutOfRange => $"field '{Field}' is out of range: {Detail}",
        RejectReason.UnknownType => $"unknown event type '{Detail}'",
        RejectReason.InFuture => $"field '{Field}' is too far in the future: {Detail}",
        RejectReason.IdTooLong => $"field '{Field}' is longer than {Detail}",
        RejectReason.Unparseable => $"the event could not be parsed ({Detail})",
        RejectReason.KeyMismatch => "the record's key is not its buyerId",
        RejectReason.WrongPartition => $"the record is on another partition than its key's: {Detail}",
        _ => "invalid event",
    };

    public override string ToString() => Message;
}
