// Spans on the hot path (change ids, formatted instants) are always written before they are read; zeroing
// every stackalloc first is measurable there.
[module: System.Runtime.CompilerServices.SkipLocalsInit]
