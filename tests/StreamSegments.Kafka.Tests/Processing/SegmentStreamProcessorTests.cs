using StreamSegments.Core;
using StreamSegments.Core.Events;
using StreamSegments.Core.Policy;
using StreamSegments.Core.State;
using StreamSegments.Core.Time;
using StreamSegments.Kafka.Processing;
using StreamSegments.Kafka.Tests.Support;
using StreamSegments.Worker.Tests.Support;

namespace StreamSegments.Kafka.Tests.Processing;

public sealed class SegmentStreamProcessorTests : IDisposable
{
    private static readonly System.Text.Json.JsonSerializerOptions MinimalEscaping = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly KafkaScenario scenario = new(partitions: 3);

    [Theory]
    [InlineData(true)] // as on the embedded broker, which does not isolate transactions
    [InlineData(false)] // the default, for Kafka
    public void The_worker_publishes_exactly_the_fixtures_changes_when_its_clock_follows_the_wall_clock_to_the_as_of_instant(bool deliverBeforeMarkers)
    {
        var fixture = RepoPaths.Fixture("scenario-small");
        var lines = File.ReadAllLines(Path.Combine(fixture, "events.jsonl"));
        var asOf = EventTime.ToDateTimeOffset(EventTime.Parse(File.ReadAllText(Path.Combine(fixture, "as-of.txt")).Trim()));
        scenario.Produce(lines, firstTimestamp: asOf.AddDays(-800));

        var clock = new StoppedClock(asOf);
        var options = scenario.Options(clock);
        options.DeliverBeforeMarkers = deliverBeforeMarkers;
        options.Topics.CurrentSegments = "segments.current";
        options.Topics.CurrentCategoryInterests = "segments.category-interest.current";
        foreach (var table in options.Topics.Tables)
        {
            scenario.Broker.CreateTopic(table, scenario.Partitions);
        }

        var counters = scenario.RunWorkerUntilQuiet(lines.Length, clock, options);

        string[] fields = ["sellerId", "buyerId", "from", "to", "effectiveAt"];
        Assert.Equal(
            KafkaScenario.Rows(Path.Combine(fixture, "changes.jsonl"), fields),
            KafkaScenario.Rows(scenario.ReadCommitted(scenario.Topics.SegmentChanges).Select(r => r.Message.Value), fields));
        string[] categoryFields = ["categoryId", "buyerId", "change", "effectiveAt"];
        Assert.Equal(
            KafkaScenario.Rows(Path.Combine(fixture, "category-changes.jsonl"), categoryFields),
            KafkaScenario.Rows(scenario.ReadCommitted(scenario.Topics.CategoryInterestChanges).Select(r => r.Message.Value), categoryFields));
        Assert.Equal(lines.Length, counters.RecordsConsumed);

        // cats(s), for consumers resolving interested-categories: every fact once per task that learned it, keyed by it.
        var facts = scenario.ReadCommitted(scenario.Topics.SellerCategories);
        Assert.All(facts, record =>
        {
            using var value = System.Text.Json.JsonDocument.Parse(record.Message.Value);
            Assert.Equal(SubjectKey(value.RootElement.GetProperty("sellerId").GetString()!, value.RootElement.GetProperty("categoryId").GetString()!), System.Text.Encoding.UTF8.GetString(record.Message.Key!));
        });
        Assert.Equal(SellerCategoriesOf(lines), facts.Select(r => System.Text.Encoding.UTF8.GetString(r.Message.Key!)).ToHashSet(StringComparer.Ordinal));

        // The current-state tables, compacted as a consumer that starts late reads them: each pair's direct segment at
        // as-of (the snapshot's, interested-categories aside), and each interest whose last change entered it.
        var snapshot = KafkaScenario.Rows(Path.Combine(fixture, "snapshot.jsonl"), "sellerId", "buyerId", "segment")
            .Where(row => !row.EndsWith("|interested-categories", StringComparison.Ordinal));
        Assert.Equal(snapshot, Current(options.Topics.CurrentSegments, "sellerId", "to"));
        Assert.Equal(HeldInterests(fixture), Current(options.Topics.CurrentCategoryInterests, "categoryId", "change"));
    }

    [Fact]
    public void Tables_named_after_the_state_was_published_are_filled_with_it_once_before_more_records()
    {
        var (fixture, clock, options) = RunFixtureWithoutTables();

        options.Topics.CurrentSegments = "segments.current";
        options.Topics.CurrentCategoryInterests = "segments.category-interest.current";
        foreach (var table in options.Topics.Tables)
        {
            scenario.Broker.CreateTopic(table, scenario.Partitions);
        }

        scenario.RunRestoredWorkerUntilQuiet(clock, options);

        // Nothing changed since the first run: the tables hold its state, every record a restatement of it.
        var snapshot = KafkaScenario.Rows(Path.Combine(fixture, "snapshot.jsonl"), "sellerId", "buyerId", "segment")
            .Where(row => !row.EndsWith("|interested-categories", StringComparison.Ordinal));
        Assert.Equal(snapshot, Current(options.Topics.CurrentSegments, "sellerId", "to"));
        Assert.Equal(HeldInterests(fixture), Current(options.Topics.CurrentCategoryInterests, "categoryId", "change"));
        var written = options.Topics.Tables.Sum(table => scenario.ReadCommitted(table).Count);
        Assert.All(scenario.ReadCommitted(options.Topics.CurrentSegments), record =>
        {
            using var value = System.Text.Json.JsonDocument.Parse(record.Message.Value);
            Assert.Equal(("restated", value.RootElement.GetProperty("to").GetString()), (value.RootElement.GetProperty("cause").GetString(), value.RootElement.GetProperty("from").GetString()));
        });
        Assert.DoesNotContain(scenario.ReadCommitted(scenario.Topics.SegmentChanges), r => r.Message.Value.AsSpan().IndexOf("restated"u8) >= 0);

        // Whole now, as the newest markers say: a restart restates nothing.
        scenario.RunRestoredWorkerUntilQuiet(clock, options);
        Assert.Equal(written, options.Topics.Tables.Sum(table => scenario.ReadCommitted(table).Count));
    }

    [Fact]
    public void A_fill_stopped_part_way_is_done_again_whole_at_the_next_start()
    {
        var (fixture, clock, options) = RunFixtureWithoutTables();

        // One buyer per loop pass: the worker is stopped once the first restatements are committed, long before the end.
        options.Topics.CurrentSegments = "segments.current";
        scenario.Broker.CreateTopic(options.Topics.CurrentSegments, scenario.Partitions);
        options.RestateBatchBuyers = 1;
        var snapshot = KafkaScenario.Rows(Path.Combine(fixture, "snapshot.jsonl"), "sellerId", "buyerId", "segment")
            .Where(row => !row.EndsWith("|interested-categories", StringComparison.Ordinal)).ToList();
        using (var worker = scenario.StartWorker(options, clock))
        {
            // The commit count first: reading the table takes a fetch wait, during which the fill goes on.
            KafkaScenario.WaitFor(
                () => worker.Failure is not null || (worker.Processor.Counters.Commits > 0 && scenario.ReadCommitted(options.Topics.CurrentSegments).Count > 0),
                "the first restatements");
            worker.Stop();
            Assert.Null(worker.Failure);
        }

        Assert.InRange(Current(options.Topics.CurrentSegments, "sellerId", "to").Count, 1, snapshot.Count - 1);

        // Its markers still said the table did not hold the whole state: the next start fills it again, whole.
        options.RestateBatchBuyers = 4096;
        scenario.RunRestoredWorkerUntilQuiet(clock, options);
        Assert.Equal(snapshot, Current(options.Topics.CurrentSegments, "sellerId", "to"));
    }

    /// <summary>The fixture's events through a worker with no current-state table, its clock stopped at the as-of instant.</summary>
    private (string Fixture, StoppedClock Clock, SegmentStreamOptions Options) RunFixtureWithoutTables()
    {
        var fixture = RepoPaths.Fixture("scenario-small");
        var lines = File.ReadAllLines(Path.Combine(fixture, "events.jsonl"));
        var asOf = EventTime.ToDateTimeOffset(EventTime.Parse(File.ReadAllText(Path.Combine(fixture, "as-of.txt")).Trim()));
        scenario.Produce(lines, firstTimestamp: asOf.AddDays(-800));
        var clock = new StoppedClock(asOf);
        var options = scenario.Options(clock, successiveRuns: true);
        scenario.RunWorkerUntilQuiet(lines.Length, clock, options);
        return (fixture, clock, options);
    }

    /// <summary>The interests held at the fixture's as-of: each (category, buyer) whose last change entered it.</summary>
    private static IEnumerable<string> HeldInterests(string fixture) =>
        KafkaScenario.Rows(Path.Combine(fixture, "category-changes.jsonl"), "effectiveAt", "categoryId", "buyerId", "change")
            .Select(row => row.Split('|'))
            .GroupBy(row => (row[1], row[2]))
            .Select(g => g.OrderBy(row => row[0], StringComparer.Ordinal).Last())
            .Where(row => row[3] == "entered")
            .Select(row => $"{row[1]}|{row[2]}|entered")
            .Order(StringComparer.Ordinal);

    /// <summary>
    /// A current-state table as compaction leaves it (the last record per key; a tombstone removes it), as
    /// <c>subject|buyerId|state</c> rows, checking that every record is keyed by the subject and buyer of its value.
    /// </summary>
    private List<string> Current(string topic, string subjectField, string stateField)
    {
        var table = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var record in scenario.ReadCommitted(topic))
        {
            var key = System.Text.Encoding.UTF8.GetString(record.Message.Key!);
            if (record.Message.Value is null)
            {
                Assert.True(table.Remove(key), $"a tombstone for {key}, which holds nothing");
                continue;
            }

            using var value = System.Text.Json.JsonDocument.Parse(record.Message.Value);
            var subject = value.RootElement.GetProperty(subjectField).GetString()!;
            var buyer = value.RootElement.GetProperty("buyerId").GetString()!;
            Assert.Equal(SubjectKey(subject, buyer), key);
            table[key] = $"{subject}|{buyer}|{value.RootElement.GetProperty(stateField).GetString()}";
        }

        return [.. table.Values.Order(StringComparer.Ordinal)];
    }

    [Fact]
    public void Ids_outside_ascii_travel_unescaped_so_a_facts_key_is_what_any_json_serializer_writes()
    {
        string[] lines =
        [
            """{"type":"product-viewed","eventId":"e1","occurredAt":"2026-01-01T00:00:00Z","buyerId":"b-ü","sellerId":"Café+Co","productId":"p","categoryId":"kids&toys"}""",
        ];
        scenario.Produce(lines, DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

        scenario.RunWorkerUntilQuiet(lines.Length, new StoppedClock(DateTimeOffset.Parse("2026-01-02T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture)));

        var fact = Assert.Single(scenario.ReadCommitted(scenario.Topics.SellerCategories));
        Assert.Equal(SubjectKey("Café+Co", "kids&toys"), System.Text.Encoding.UTF8.GetString(fact.Message.Key!));
        var change = System.Text.Encoding.UTF8.GetString(Assert.Single(scenario.ReadCommitted(scenario.Topics.SegmentChanges)).Message.Value!);
        Assert.Contains("\"sellerId\":\"Café+Co\",\"buyerId\":\"b-ü\"", change, StringComparison.Ordinal);
    }

    /// <summary>A compacted topic's key as a consumer's JSON serializer writes it (only the escapes JSON requires).</summary>
    private static string SubjectKey(string first, string second) => System.Text.Json.JsonSerializer.Serialize(new[] { first, second }, MinimalEscaping);

    /// <summary>cats(s) as the contract defines it: every category that appeared with the seller in an interaction or an order's items.</summary>
    private static HashSet<string> SellerCategoriesOf(IEnumerable<string> lines)
    {
        var sellers = new SymbolTable();
        var categories = new SymbolTable();
        var parser = new EventParser(sellers, categories);
        var e = new BuyerEvent();
        var facts = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            if (!parser.TryParse(System.Text.Encoding.UTF8.GetBytes(line), e, out _))
            {
                continue;
            }

            int[] learned = e.Kind == EventKind.OrderPaid ? e.ItemCategories.ToArray() : e.Kind.IsInteraction() ? [e.Category] : [];
            foreach (var category in learned)
            {
                facts.Add(SubjectKey(System.Text.Encoding.UTF8.GetString(sellers.NameOf(e.Seller)), System.Text.Encoding.UTF8.GetString(categories.NameOf(category))));
            }
        }

        return facts;
    }

    [Fact]
    public void Routed_segments_get_every_change_that_leaves_or_enters_them_on_their_own_topics()
    {
        var fixture = RepoPaths.Fixture("scenario-small");
        var lines = File.ReadAllLines(Path.Combine(fixture, "events.jsonl"));
        var asOf = EventTime.ToDateTimeOffset(EventTime.Parse(File.ReadAllText(Path.Combine(fixture, "as-of.txt")).Trim()));
        var routes = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["regular-top"] = "sellers.top-buyers",
            ["new"] = "sellers.new-buyers",
            ["sleeping"] = "sellers.sleeping-buyers",
        };
        foreach (var (segment, topic) in routes)
        {
            scenario.Topics.PerSegment[segment] = topic;
            scenario.Broker.CreateTopic(topic, scenario.Partitions);
        }

        scenario.Produce(lines, firstTimestamp: asOf.AddDays(-800));
        scenario.RunWorkerUntilQuiet(lines.Length, new StoppedClock(asOf));

        string[] fields = ["sellerId", "buyerId", "from", "to", "effectiveAt"];
        var expected = File.ReadAllLines(Path.Combine(fixture, "changes.jsonl"));
        foreach (var (segment, topic) in routes)
        {
            var touching = expected.Where(line =>
            {
                using var change = System.Text.Json.JsonDocument.Parse(line);
                return change.RootElement.GetProperty("from").GetString() == segment || change.RootElement.GetProperty("to").GetString() == segment;
            }).ToList();
            Assert.NotEmpty(touching);
            Assert.Equal(
                KafkaScenario.Rows(touching.Select(System.Text.Encoding.UTF8.GetBytes), fields),
                KafkaScenario.Rows(scenario.ReadCommitted(topic).Select(r => r.Message.Value), fields));
        }

        Assert.Equal(expected.Length, scenario.ReadCommitted(scenario.Topics.SegmentChanges).Count);

        // Keyed by buyer on the partition the Java client would pick, on every topic: a consumer can co-partition them.
        foreach (var topic in routes.Values.Append(scenario.Topics.SegmentChanges).Append(scenario.Topics.CategoryInterestChanges))
        {
            Assert.All(scenario.ReadCommitted(topic), record =>
                Assert.Equal(KeyPartitioning.PartitionOf(InputPartitioner.Murmur2, record.Message.Key!, scenario.Partitions), record.Partition.Value));
        }
    }

    [Fact]
    public void State_restored_under_another_policy_is_re_evaluated_at_the_clock_and_only_what_differs_is_published_once()
    {
        // b-1's order from s-1 is 45 days before the clock: in a 90-day window, not in a 30-day one. Its view of
        // s-2 (which moves its task's clock) and b-2's order are at the clock, in both windows.
        string[] lines =
        [
            """{"type":"order-paid","eventId":"e-1","occurredAt":"2026-09-17T12:00:00.000Z","buyerId":"b-1","sellerId":"s-1","orderId":"o-1","amount":100}""",
            """{"type":"product-viewed","eventId":"e-2","occurredAt":"2026-11-01T12:00:00.000Z","buyerId":"b-1","sellerId":"s-2","productId":"p-1","categoryId":"c-1"}""",
            """{"type":"order-paid","eventId":"e-3","occurredAt":"2026-11-01T12:00:00.000Z","buyerId":"b-2","sellerId":"s-1","orderId":"o-2","amount":100}""",
        ];
        scenario.Produce(lines, new DateTimeOffset(2026, 11, 1, 11, 0, 0, TimeSpan.Zero));
        // A millisecond past the last records, so that their instant has passed and they are evaluated.
        var wallClock = new StoppedClock(new DateTimeOffset(2026, 11, 1, 12, 0, 0, 1, TimeSpan.Zero));
        var options = scenario.Options(wallClock, successiveRuns: true);
        scenario.RunWorkerUntilQuiet(lines.Length, wallClock, options);
        var before = Changes();

        var shorter = new SegmentPolicy { WindowDays = 30 };
        scenario.RunRestoredWorkerUntilQuiet(wallClock, options, shorter);
        // What the second run added: a reader takes the partitions' records in no fixed order across partitions.
        var reevaluated = Changes();
        before.ForEach(change => reevaluated.Remove(change));

        var change = Assert.Single(reevaluated);
        Assert.Equal(("b-1", "s-1", "policy-change", "2026-11-01T12:00:00.001Z"), (change.Buyer, change.Seller, change.Cause, change.At));
        Assert.Equal(before.Last(c => c.Buyer == "b-1" && c.Seller == "s-1").To, change.From);
        Assert.NotEqual(change.From, change.To);

        // Published under the new policy now, as every partition's newest marker says: a restart under it re-evaluates
        // nothing.
        var newestMarkers = scenario.ReadCommitted(scenario.Topics.Changelog)
            .Where(r => Kafka.Processing.CommitMarker.IsMarkerKey(r.Message.Key))
            .GroupBy(r => r.Partition.Value)
            .Select(g => g.MaxBy(r => r.Offset.Value)!)
            .Select(r => Kafka.Processing.CommitMarker.Read(r.Message.Value, r.Message.Headers).Policy)
            .ToList();
        Assert.NotEmpty(newestMarkers);
        Assert.All(newestMarkers, policy => Assert.Equal(shorter.Fingerprint(), policy));
        scenario.RunRestoredWorkerUntilQuiet(wallClock, options, shorter);
        Assert.Equal(before.Count + 1, Changes().Count);
    }

    [Theory]
    [InlineData(3_600_000L, 600_000L, false)] // the default bound; records came in the last 10 min (the wall clock is stopped)
    [InlineData(3_600_000L, 0L, true)]        // the history has ended: no record for HistoryIdleMs
    [InlineData(101 * 86_400_000L, 600_000L, true)] // within the bound
    public void A_caught_up_task_far_behind_the_wall_clock_waits_for_more_history_instead_of_following_it(long within, long historyIdle, bool follows)
    {
        // A backfill's first record, 100 days before the wall clock, and then its producer pauses. Following the wall
        // clock would evaluate the order and take the pair through its window exit, and stamp the rest of the backfill
        // with now; held back, the task waits, so the order's instant has not passed yet.
        var first = new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
        string[] lines = ["""{"type":"order-paid","eventId":"e-1","occurredAt":"2026-06-01T12:00:00.000Z","buyerId":"b-1","sellerId":"s-1","orderId":"o-1","amount":100}"""];
        scenario.Produce(lines, first);
        var wallClock = new StoppedClock(first.AddDays(100));
        var options = scenario.Options(wallClock);
        options.FollowWallClockWithinMs = within;
        options.HistoryIdleMs = historyIdle;

        scenario.RunWorkerUntilQuiet(lines.Length, wallClock, options);

        List<(string?, string?)> expected = follows ? [(null, "new"), ("new", "sleeping")] : [];
        Assert.Equal(expected, Changes().Select(c => (c.From, c.To)).ToList());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_quiet_task_keeps_following_the_wall_clock_across_a_restart_with_the_default_bound(bool restart)
    {
        // b-1's only order, then two quiet hours in which the live worker follows the wall clock (no outage). With a
        // one-day window the pair leaves it, and becomes sleeping, a day after the order, with or without a restart:
        // following commits nothing, so the restarted task's clock is two hours old, and it has no record since.
        var first = new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
        string[] lines = ["""{"type":"order-paid","eventId":"e-1","occurredAt":"2026-06-01T12:00:00.000Z","buyerId":"b-1","sellerId":"s-1","orderId":"o-1","amount":100}"""];
        scenario.Produce(lines, first);
        var wallClock = new MovableClock(first.AddMinutes(1));
        var defaults = new Kafka.Processing.SegmentStreamOptions();
        var options = scenario.Options(wallClock, successiveRuns: true);
        (options.FollowWallClockWithinMs, options.HistoryIdleMs) = (defaults.FollowWallClockWithinMs, defaults.HistoryIdleMs);
        options.CheckpointIntervalMs = 1_000;
        var policy = new SegmentPolicy { WindowDays = 1 };

        void Step(RunningWorker worker, DateTimeOffset until)
        {
            while (wallClock.Now < until)
            {
                wallClock.Now = wallClock.Now.AddMinutes(30); // a live worker follows in steps of 100 ms; 30 min is well within the hour
                Thread.Sleep(400);
                Assert.Null(worker.Failure);
            }
        }

        var worker = scenario.StartWorker(options, wallClock, policy: policy);
        try
        {
            KafkaScenario.WaitUntilQuiet(worker.Processor, lines.Length, () => worker.Failure is not null);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (worker.Processor.Counters.Checkpoints == 0 && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
            }

            Step(worker, first.AddHours(2));
            if (restart)
            {
                worker.Stop(); // a deployment, or the task handed to another instance
                worker.Dispose();
                worker = scenario.StartWorker(options, wallClock, policy: policy);
                var restored = DateTime.UtcNow.AddMinutes(1);
                while (worker.Processor.Counters.Restores < scenario.Partitions && worker.Failure is null && DateTime.UtcNow < restored)
                {
                    Thread.Sleep(100);
                }
            }

            Step(worker, first.AddDays(1).AddHours(1));
            KafkaScenario.WaitUntilQuiet(worker.Processor, failed: () => worker.Failure is not null);
            worker.Stop();
        }
        finally
        {
            worker.Dispose();
        }

        Assert.Equal([(null, "new"), ("new", "sleeping")], Changes().Select(c => (c.From, c.To)).ToList());
    }

    [Fact]
    public void A_backfill_that_resumes_soon_after_a_restart_is_still_held_back_and_not_stamped_with_now()
    {
        // History a month behind the wall clock, which stands still: with the default bounds the task holds back for as
        // long as records keep coming. The restart comes between b-1's two orders.
        var first = new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
        string Order(int day) =>
            $$"""{"type":"order-paid","eventId":"e-{{day}}","occurredAt":"2026-06-0{{day + 1}}T12:00:00.000Z","buyerId":"b-1","sellerId":"s-1","orderId":"o-{{day}}","amount":100}""";
        var wallClock = new StoppedClock(first.AddDays(30));
        var defaults = new Kafka.Processing.SegmentStreamOptions();
        var options = scenario.Options(wallClock, successiveRuns: true);
        (options.FollowWallClockWithinMs, options.HistoryIdleMs) = (defaults.FollowWallClockWithinMs, defaults.HistoryIdleMs);

        scenario.Produce([Order(0)], first);
        scenario.RunWorkerUntilQuiet(1, wallClock, options);
        using var worker = scenario.StartWorker(options, wallClock);
        KafkaScenario.WaitFor(() => worker.Processor.Counters.Restores == scenario.Partitions || worker.Failure is not null, "the restore");
        Thread.Sleep(3_000); // the producer's pause: the task reads to its partitions' ends and goes round its commit cycles
        // A later view (of another seller's product) moves the clock past the second order's instant, which publishes its change.
        scenario.Produce([Order(1), """{"type":"product-viewed","eventId":"v-2","occurredAt":"2026-06-03T12:00:00.000Z","buyerId":"b-1","sellerId":"s-2","productId":"p-1","categoryId":"c-1"}"""], first.AddDays(1));
        KafkaScenario.WaitUntilQuiet(worker.Processor, 2, () => worker.Failure is not null);
        worker.Stop();

        Assert.Null(worker.Failure);
        Assert.Equal(0, worker.Processor.Counters.LateRecords);
        Assert.Equal([("new", "2026-06-01T12:00:00.000Z"), ("returning", "2026-06-02T12:00:00.000Z")], Changes().Where(c => c.Seller == "s-1").Select(c => (c.To!, c.At)));
    }

    [Fact]
    public void A_timer_that_changes_nothing_commits_nothing_while_one_that_changes_a_segment_commits_its_change()
    {
        // Ten orders of 100 a minute apart make b-1 a regular of s-1. When the first leaves the window, nine remain:
        // F is still 1 (at least 8), M still 3, R already 3, so nothing changes. Then the other nine leave.
        var first = new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
        var lines = Enumerable.Range(0, 10)
            .Select(i => $$"""{"type":"order-paid","eventId":"e-{{i}}","occurredAt":"{{first.AddMinutes(i).ToString("yyyy-MM-dd'T'HH':'mm':'ss'.'fff'Z'", System.Globalization.CultureInfo.InvariantCulture)}}","buyerId":"b-1","sellerId":"s-1","orderId":"o-{{i}}","amount":100}""")
            .ToArray();
        scenario.Produce(lines, first);
        var wallClock = new MovableClock(first.AddHours(1));
        using var worker = scenario.StartWorker(wallClock: wallClock);
        KafkaScenario.WaitUntilQuiet(worker.Processor, lines.Length, () => worker.Failure is not null);

        // Past both recency thresholds of the last order (changes), up to the first order's window exit.
        wallClock.Now = first.AddDays(61);
        KafkaScenario.WaitUntilQuiet(worker.Processor, failed: () => worker.Failure is not null);
        var (commits, fired, published) = (worker.Processor.Counters.Commits, worker.Processor.Counters.WallClockTimersFired, Changes().Count);

        wallClock.Now = first.AddDays(90).AddSeconds(30);
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (worker.Processor.Counters.WallClockTimersFired == fired && worker.Failure is null && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(50);
        }

        Assert.Equal(fired + 1, worker.Processor.Counters.WallClockTimersFired);
        wallClock.Now = first.AddDays(91);
        KafkaScenario.WaitUntilQuiet(worker.Processor, failed: () => worker.Failure is not null);
        worker.Stop();

        Assert.Equal(commits + 1, worker.Processor.Counters.Commits);
        var changes = Changes();
        Assert.DoesNotContain(changes.Skip(published), c => c.At == "2026-08-30T12:00:00.000Z");
        var last = changes[^1];
        Assert.Equal(("b-1", "s-1", "sleeping", "window-exit", "2026-08-30T12:09:00.000Z"), (last.Buyer, last.Seller, last.To, last.Cause, last.At));
    }

    [Fact]
    public void A_second_worker_on_a_state_directory_in_use_stops_at_start_with_the_reason_and_the_first_goes_on()
    {
        var first = new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
        string Order(int i) =>
            $$"""{"type":"order-paid","eventId":"e-{{i}}","occurredAt":"{{first.AddMinutes(i).ToString("yyyy-MM-dd'T'HH':'mm':'ss'.'fff'Z'", System.Globalization.CultureInfo.InvariantCulture)}}","buyerId":"b-1","sellerId":"s-1","orderId":"o-{{i}}","amount":100}""";
        scenario.Produce([Order(0)], first);
        var wallClock = new MovableClock(first.AddHours(1));
        using var worker = scenario.StartWorker(wallClock: wallClock);
        KafkaScenario.WaitUntilQuiet(worker.Processor, 1, () => worker.Failure is not null);
        Assert.Null(worker.Failure);

        using (var second = scenario.StartWorker(wallClock: wallClock))
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (second.Failure is null && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20);
            }

            var refused = Assert.IsType<SetupException>(second.Failure);
            Assert.Contains(Path.GetFullPath(scenario.StateDirectory), refused.Message, StringComparison.Ordinal);
            Assert.Equal(0, second.Processor.Counters.Restores);
        }

        // Late (the clock has followed the wall clock to 13:00): its change is stamped 13:00 and published once the
        // clock has passed that instant.
        scenario.Produce([Order(1)], first.AddMinutes(1));
        var published = DateTime.UtcNow.AddMinutes(1);
        while (worker.Processor.Counters.RecordsConsumed < 2 && worker.Failure is null && DateTime.UtcNow < published)
        {
            Thread.Sleep(50);
        }

        wallClock.Now = first.AddHours(2);
        while (Changes().Count < 2 && worker.Failure is null && DateTime.UtcNow < published)
        {
            Thread.Sleep(200);
        }

        worker.Stop();
        Assert.Equal(2, worker.Processor.Counters.RecordsConsumed);
        Assert.Equal(["new", "returning"], Changes().Select(c => c.To));
    }

    public void Dispose() => scenario.Dispose();

    private List<(string Buyer, string Seller, string? From, string? To, string Cause, string At)> Changes() =>
        scenario.ReadCommitted(scenario.Topics.SegmentChanges).Select(r =>
        {
            using var change = System.Text.Json.JsonDocument.Parse(r.Message.Value!);
            var root = change.RootElement;
            return (root.GetProperty("buyerId").GetString()!, root.GetProperty("sellerId").GetString()!, root.GetProperty("from").GetString(), root.GetProperty("to").GetString(),
                root.GetProperty("cause").GetString()!, root.GetProperty("effectiveAt").GetString()!);
        }).ToList();
}
