// The .NET wrapper (Skat.Gateway) against the real native library and a running simulator, as .NET users
// meet it: compiled with mcs, run with mono. scripts/test-dotnet builds and runs it; the last line says
// "N passed, N failed", and the exit code is 0 only when nothing failed.
//
//   mono --debug Tests.exe SIM_DIR SCRATCH_DIR FIXTURES_DIR CARGO_VERSION HEADER [quick]
//
// SIM_DIR: a running `skat-gateway sim --dir`; SCRATCH_DIR: an empty folder of this run's own; FIXTURES_DIR:
// the public OCES II test certificates (skipped with a message when absent); HEADER: include/gateway.h;
// "quick": fewer rounds of the loops (for the run under valgrind).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using Skat.Gateway;

internal static class Tests
{
    private const string Service = "Manifest.AnkomstdeklarationOpret";
    private static int passed, failed, skipped;
    private static string simDir, scratch, fixtures, cargoVersion, header;
    private static bool quick;
    private static int counter;

    private static int Main(string[] args)
    {
        if (args.Length < 5)
        {
            Console.Error.WriteLine("usage: Tests.exe SIM_DIR SCRATCH_DIR FIXTURES_DIR CARGO_VERSION HEADER [quick]");
            return 2;
        }
        simDir = args[0]; scratch = args[1]; fixtures = args[2]; cargoVersion = args[3]; header = args[4];
        quick = args.Length > 5 && args[5] == "quick";

        Test("version and result codes", VersionAndCodes);
        Test("identity from the public OCES II fixtures", FixtureIdentities);
        Test("identity from the simulator's certificate", SimulatorIdentity);
        Test("the fixed contract: FromConfig, SubmitFile, Poll, State", Contract);
        Test("the whole flow to status 3", WholeFlow);
        Test("what a submit did; bytes; empty refused", SubmitOutcomes);
        Test("many files over parallel sessions", SubmitFilesInParallel);
        Test("a reused name: refused locally, and by the gateway for another system", ReusedName);
        Test("wrong password: the exception names the cause", WrongPassword);
        Test("unreachable host, bad arguments", Refusals);
        Test("use after Dispose is an ObjectDisposedException", UseAfterDispose);
        Test("many clients created and disposed: no handle or memory growth", ManyClients);
        Test("handles left to the finalizer are freed", Finalizer);
        Test("two threads on one client", TwoThreads);
        Test("exceptions thrown by a log handler and an event handler", ThrowingCallbacks);
        Test("UTF-8 paths and names", Utf8Paths);
        Test("the low-level session", Session);
        Test("the in-process simulator", InProcessSimulator);

        Console.WriteLine("dotnet tests: {0} passed, {1} failed{2}", passed, failed, skipped > 0 ? ", " + skipped + " skipped" : "");
        return failed == 0 ? 0 : 1;
    }

    // ---- a small harness

    private static void Test(string name, Action body)
    {
        var watch = Stopwatch.StartNew();
        int failedBefore = failed;
        try { body(); }
        catch (Exception e) { Fail(name + ": unexpected " + e); }
        Console.WriteLine("   {0,-72} {1,5:0.0}s {2}", name, watch.Elapsed.TotalSeconds, failed == failedBefore ? "ok" : "FAILED");
    }

    private static void Check(bool condition, string what)
    {
        if (condition) passed++;
        else Fail(what);
    }

    private static void Equal<T>(T expected, T actual, string what)
    {
        Check(EqualityComparer<T>.Default.Equals(expected, actual), what + ": expected <" + expected + ">, got <" + actual + ">");
    }

    private static void Fail(string what)
    {
        failed++;
        var frame = new StackTrace(true);
        Console.Error.WriteLine("FAILED: " + what);
        foreach (var f in frame.GetFrames())
        {
            if (f.GetFileName() != null && f.GetFileName().EndsWith("Tests.cs") && f.GetMethod().Name != "Fail" && f.GetMethod().Name != "Check" && f.GetMethod().Name != "Equal")
            {
                Console.Error.WriteLine("        at {0} line {1}", f.GetMethod().Name, f.GetFileLineNumber());
                break;
            }
        }
    }

    private static T Throws<T>(Action action, string what) where T : Exception
    {
        try { action(); }
        catch (T e) { passed++; return e; }
        catch (Exception e) { Fail(what + ": expected " + typeof(T).Name + ", got " + e.GetType().Name + ": " + e.Message); return null; }
        Fail(what + ": expected " + typeof(T).Name + ", nothing was thrown");
        return null;
    }

    private static void Skip(string why)
    {
        skipped++;
        Console.WriteLine("      skipped: " + why);
    }

    // ---- helpers

    private static string ConfigPath { get { return Path.Combine(simDir, "client.toml"); } }

    private static string UniqueFile(string name)
    {
        string path = Path.Combine(scratch, name);
        File.WriteAllText(path, string.Format("<declaration n=\"{0}\" pid=\"{1}\" t=\"{2}\"/>\n", Interlocked.Increment(ref counter), Process.GetCurrentProcess().Id, DateTime.UtcNow.Ticks));
        return path;
    }

    /// <summary>A config of the simulator's profile with this run's own journal and inbox named by <paramref name="state"/>.</summary>
    private static GatewayConfig ConfigFor(string state, Action<GatewayConfigBuilder> change = null)
    {
        using (var builder = GatewayConfigBuilder.FromFile(ConfigPath))
        {
            builder.SetJournal(Path.Combine(scratch, state + ".sqlite")).SetInbox(Path.Combine(scratch, state + "-inbox"));
            if (change != null) change(builder);
            return builder.Build();
        }
    }

    private static GatewayClient ClientFor(string state)
    {
        using (var config = ConfigFor(state)) return GatewayClient.Connect(config);
    }

    /// <summary>Polls until <paramref name="name"/> is in <paramref name="wanted"/> or final; at most 30 s.</summary>
    private static SubmissionState Settle(GatewayClient client, string name, SubmissionState wanted)
    {
        SubmissionState state = client.State(name);
        for (int round = 0; round < 300 && state != wanted && state != SubmissionState.Responded && state != SubmissionState.Failed; round++)
        {
            Thread.Sleep(100);
            client.Poll();
            state = client.State(name);
        }
        return state;
    }

    private static string Password(string file) { return File.ReadAllText(Path.Combine(simDir, file)).Trim(); }

    // ---- the tests

    private static void VersionAndCodes()
    {
        Equal(cargoVersion, Library.Version, "Library.Version is the crate's");
        Equal("login refused", Library.ResultText(500), "ResultText(500)");
        Equal("unknown gw_result 12345", Library.ResultText(12345), "ResultText of an unknown code");
        // Every GW_ERR_* of the header has its name here, and maps to the exception class of its area.
        int codes = 0;
        foreach (Match m in Regex.Matches(File.ReadAllText(header), @"#define GW_ERR_([A-Z0-9_]+) ([0-9]+)"))
        {
            codes++;
            uint code = uint.Parse(m.Groups[2].Value);
            Equal(m.Groups[1].Value, ResultCodes.KindOf(code), "the name of code " + code);
        }
        Check(codes >= 40 && codes == ResultCodes.All.Count - 1, "every GW_ERR_ code is known (" + codes + " in the header, " + ResultCodes.All.Count + " here with OK)");
        Equal("UNKNOWN_12345", ResultCodes.KindOf(12345), "an unknown code's name");
    }

    private static void FixtureIdentities()
    {
        string voces = Path.Combine(fixtures, "VOCES_gyldig.p12");
        if (!File.Exists(voces)) { Skip("no public OCES II test certificates at " + fixtures); return; }
        using (var id = Identity.FromFile(voces, "Test1234"))
        {
            Equal("CVR_30808460_UID_25351738", id.UserName, "the newsletter's user name");
            Equal(CertificateKind.Company, id.Kind, "kind");
            Equal("VOCES", id.KindName, "kind name");
            Equal("30808460", id.Cvr, "CVR");
            Equal("25351738", id.Id, "UID");
            Equal(CertificateValidity.Expired, id.Validity, "the fixtures are expired");
            Check(id.DaysLeft < 0 && id.NotAfter < DateTimeOffset.UtcNow && id.NotBefore < id.NotAfter, "validity period");
            Check(id.Fingerprint.Length == 95 && id.Fingerprint[2] == ':', "fingerprint AB:CD:...");
            Check(id.PublicPem.StartsWith("-----BEGIN CERTIFICATE-----") && !id.PublicPem.Contains("PRIVATE"), "public PEM, no key");
            var expired = Throws<CertificateException>(id.CheckValid, "CheckValid of an expired certificate");
            Check(expired != null && expired.Message.Contains("expired"), "the message says expired: " + (expired == null ? "" : expired.Message));
            string exported = id.ExportPublicPem(scratch);
            Equal(Path.Combine(scratch, "CVR_30808460_UID_25351738.pem"), exported, "export path");
            Throws<LocalIoException>(() => id.ExportPublicPem(scratch), "a second export without overwrite");
            id.ExportPublicPem(scratch, null, true);
        }
        byte[] bytes = File.ReadAllBytes(voces);
        using (var id = Identity.FromPkcs12(bytes, "Test1234")) Equal("CVR_30808460_UID_25351738", id.UserName, "from bytes");
        var wrong = Throws<CertificatePasswordException>(() => Identity.FromFile(voces, "wrong-password-42"), "wrong certificate password");
        if (wrong != null)
        {
            Equal(202u, wrong.Code, "its code");
            Equal("CERTIFICATE_PASSWORD", wrong.Kind, "its kind");
            Check(wrong.Message.Contains("password") && !wrong.Message.Contains("wrong-password-42"), "says password, never shows it: " + wrong.Message);
        }
        int loaded = 0;
        foreach (string file in Directory.GetFiles(fixtures, "*.p12"))
        {
            try { using (var id = Identity.FromFile(file, "Test1234")) if (id.UserName.StartsWith("CVR_")) loaded++; }
            catch (GatewayException e) { Check(e.Message.Length > 20, "a refused fixture says why: " + Path.GetFileName(file) + ": " + e.Message); }
        }
        Check(loaded >= 3, "several fixtures load (" + loaded + ")");
        Throws<CertificateException>(() => Identity.FromFile(Path.Combine(scratch, "no-such.p12"), null), "a missing file");
    }

    private static void SimulatorIdentity()
    {
        using (var id = Identity.FromFile(Path.Combine(simDir, "client.p12"), Password("client.p12.password")))
        {
            Equal("CVR_12345678_UID_9876543210", id.UserName, "the simulator's certificate");
            Equal(CertificateValidity.Valid, id.Validity, "valid");
            id.CheckValid();
        }
        using (var pem = Identity.FromPemFiles(Path.Combine(simDir, "client-cert.pem"), Path.Combine(simDir, "client-key.pem")))
            Equal("CVR_12345678_UID_9876543210", pem.UserName, "from PEM files");
        using (var pem = Identity.FromPem(File.ReadAllBytes(Path.Combine(simDir, "client-cert.pem")), File.ReadAllBytes(Path.Combine(simDir, "client-key.pem"))))
            Equal("9876543210", pem.Id, "from PEM bytes");
    }

    private static void Contract()
    {
        // Exactly what the issue's contract offers, as an outside program uses it.
        string file = UniqueFile("contract.xml");
        using (GatewayClient client = GatewayClient.FromConfig(ConfigPath))
        {
            string name = client.SubmitFile(Service, file);
            Check(name.StartsWith("contract-") && name.EndsWith(".xml") && name.Length <= GatewayClient.NameMax, "a unique name: " + name);
            client.Poll(null);
            SubmissionState state = client.State(name);
            Check(state >= SubmissionState.Uploaded && state != SubmissionState.Failed, "state after a poll: " + state);
        }
        using (GatewayClient client = GatewayClient.FromConfig(ConfigPath, "sim")) Check(client.UserName.Length > 0, "the named profile");
        Equal(0, (int)SubmissionState.Reserved, "the contract's enum values");
        Equal(8, (int)SubmissionState.Closed, "the contract's enum values");
    }

    private static void WholeFlow()
    {
        using (var client = ClientFor("flow"))
        {
            var events = new List<GatewayEventKind>();
            client.Events += (sender, e) => { lock (events) events.Add(e.Kind); };
            Equal("CVR_12345678_UID_9876543210", client.UserName, "user name");
            var services = client.Services();
            Check(services.Count >= 10, "services listed: " + services.Count);
            Service arrival = null;
            foreach (var s in services) if (s.Name == Service) arrival = s;
            Check(arrival != null && arrival.System == GatewaySystem.Manifest && arrival.Known && arrival.TransferType == TransferType.Binary, "the arrival service");

            string file = UniqueFile("arrival.xml");
            SubmitResult sent = client.Submit(Service, file);
            Equal(SubmitOutcome.Sent, sent.Outcome, "sent");
            Check(sent.Name.StartsWith("arrival-"), "the name starts with the file's: " + sent.Name);
            Check(sent.Submission.Size == new FileInfo(file).Length && sent.Submission.Sha256.Length == 64, "size and hash recorded");
            Equal(Path.GetFullPath(file), sent.Submission.LocalPath, "local path");
            Check(events.Contains(GatewayEventKind.Uploading) && events.Contains(GatewayEventKind.Reserved), "upload events");

            int receipts = 0;
            SubmissionState state = client.State(sent.Name);
            for (int round = 0; round < 300 && state != SubmissionState.Responded && state != SubmissionState.Failed; round++)
            {
                PollReport report = client.PollWithReport();
                foreach (var r in report.Receipts)
                {
                    if (r.TransactionId != sent.Name) continue;
                    receipts++;
                    Check(r.IsOurs && r.Outcome == ReceiptOutcome.Applied && r.StateAfter.HasValue, "applied: " + r);
                    Check(File.Exists(r.LocalPath), "the status file is in the inbox: " + r.LocalPath);
                    Check(r.Code >= 1 && r.Code <= 3 && r.Service == Service, "code and service");
                    if (r.Code == 3) Equal(1, r.ResponseFiles.Count, "status 3 names the response file");
                }
                state = client.State(sent.Name);
                if (state != SubmissionState.Responded) Thread.Sleep(100);
            }
            Equal(SubmissionState.Responded, state, "status 3 reached");
            Equal(3, receipts, "receipts 1, 2 and 3");
            Submission record = client.Submission(sent.Name);
            Equal(SubmissionState.Responded, record.State, "the journal's state");
            Equal(3, record.Receipts.Count, "three status files recorded");
            foreach (var r in record.Receipts) Check(File.Exists(r.LocalPath) && r.ReceivedAt > DateTimeOffset.UtcNow.AddHours(-1), "each with its local copy: " + r.StatusFile);
            Equal(1, record.ResponseFiles.Count, "one response file");
            Check(record.ResponseFiles.Count == 1 && File.Exists(record.ResponseFiles[0].LocalPath), "the response file in the inbox");
            Check(record.UploadedAt.HasValue && record.RespondedAt >= record.UploadedAt && !record.FailedAt.HasValue, "times");
            Check(record.SkatTransactionId.Length > 0 && record.ErrorCode == "", "backend id, no error");
            Check(events.Contains(GatewayEventKind.Downloaded) && events.Contains(GatewayEventKind.Receipt), "poll events");

            Equal(0, client.Pending().Count, "nothing pending");
            Check(client.Submissions().Count >= 1, "the journal lists it");
            Equal(0, client.StaleUploads().Count, "no stale upload");

            PingResult ping = client.Ping(TimeSpan.FromSeconds(30));
            Equal(1, ping.Receipt.Code, "a ping's status 1");
            Check(ping.RoundTrip > TimeSpan.Zero && ping.RoundTrip < TimeSpan.FromSeconds(30), "round trip " + ping.RoundTrip);
            Submission closed = client.CloseSubmission(ping.Receipt.TransactionId, "a heartbeat waits for nothing more");
            Equal(SubmissionState.Closed, closed.State, "closed");
            Equal("a heartbeat waits for nothing more", closed.CloseReason, "reason kept");

            Equal(Password("gateway.password"), client.FetchLoginInfo(), "the migration password");
            string saved = Path.Combine(scratch, "new-gateway.password");
            client.SaveLoginInfo(saved);
            Equal(Password("gateway.password"), File.ReadAllText(saved).Trim(), "saved");
            Throws<LocalIoException>(() => client.SaveLoginInfo(saved), "an existing file is not replaced");
        }
    }

    private static void SubmitOutcomes()
    {
        using (var client = ClientFor("outcomes"))
        {
            string file = UniqueFile("outcome.xml");
            var first = client.Submit(Service, file, null, "outcome");
            Equal(SubmitOutcome.Sent, first.Outcome, "first");
            var again = client.Submit(Service, file);
            Equal(SubmitOutcome.AlreadySubmitted, again.Outcome, "the same content again");
            Equal(first.Name, again.Name, "the earlier submission");
            Equal(first.Name, client.SubmitFile(Service, file), "SubmitFile gives the earlier name too");
            var forced = client.Submit(Service, file, null, null, SubmitFlags.Again);
            Check(forced.Outcome == SubmitOutcome.Sent && forced.Name != first.Name, "Again: a new name");

            byte[] declaration = Encoding.UTF8.GetBytes("<departure run=\"" + Guid.NewGuid() + "\"/>");
            var bytes = client.SubmitBytes("Manifest.AfgangsdeklarationOpret", declaration, "xml", null, "departure");
            Check(bytes.Outcome == SubmitOutcome.Sent && bytes.Name.StartsWith("departure-") && bytes.Submission.LocalPath == "", "bytes: " + bytes.Name);
            Equal(SubmitOutcome.AlreadySubmitted, client.SubmitBytes("Manifest.AfgangsdeklarationOpret", declaration).Outcome, "the same bytes again");
            var empty = Throws<InvalidArgumentException>(() => client.SubmitBytes(Service, new byte[0]), "empty bytes");
            Check(empty != null && empty.Message.Contains("empty"), "says empty");
            Equal(SubmitOutcome.Sent, client.SubmitBytes(Service, new byte[0], "xml", null, "empty", SubmitFlags.AllowEmpty).Outcome, "allowed empty");
            string emptyFile = Path.Combine(scratch, "empty.xml");
            File.WriteAllText(emptyFile, "");
            Throws<InvalidArgumentException>(() => client.SubmitFile(Service, emptyFile), "an empty file");
        }
    }

    private static void SubmitFilesInParallel()
    {
        Throws<ArgumentOutOfRangeException>(() => ConfigFor("parallel", b => b.SetSessions(9)), "9 sessions");
        using (var config = ConfigFor("parallel", b => b.SetSessions(3)))
        using (var client = GatewayClient.Connect(config))
        {
            var paths = new List<string>();
            for (int i = 0; i < 8; i++) paths.Add(UniqueFile("parallel-" + i + ".xml"));
            paths.Add(paths[2]);
            paths.Add(Path.Combine(scratch, "missing.xml"));
            var items = client.SubmitFiles(Service, paths, "batch");
            Equal(10, items.Count, "one item per path");
            var names = new HashSet<string>();
            for (int i = 0; i < 9; i++)
            {
                Check(items[i].Succeeded && items[i].Result != null && items[i].Path == paths[i], "file " + i + ": " + (items[i].Error == null ? "" : items[i].Error.Message));
                if (items[i].Result != null) { names.Add(items[i].Result.Name); Check(items[i].Result.Name.StartsWith("batch-"), "prefix"); }
            }
            Equal(8, names.Count, "eight contents, eight names");
            Equal(items[2].Result.Name, items[8].Result.Name, "a path given twice is one submission");
            Check((items[2].Result.Outcome == SubmitOutcome.Sent) != (items[8].Result.Outcome == SubmitOutcome.Sent), "sent once");
            Check(!items[9].Succeeded && items[9].Result == null && items[9].Error.Message.Contains("missing.xml"), "the missing file: " + items[9].Error);
            Equal(0, client.SubmitFiles(Service, new List<string>()).Count, "nothing to do");
        }
    }

    private static void ReusedName()
    {
        string name;
        string file = UniqueFile("reused.xml");
        using (var client = ClientFor("reuse-a"))
        {
            name = client.SubmitFile(Service, file);
            var reused = Throws<FilenameReusedException>(() => client.Submit(Service, file, name, null, SubmitFlags.Again), "a name used before, locally");
            Check(reused != null && reused.Message.Contains(name) && reused.Code == 601, "the message names it");
            Throws<InvalidFilenameException>(() => client.Submit(Service, file, "bad name!"), "a name the gateway would refuse");
            Equal(SubmissionState.Responded, Settle(client, name, SubmissionState.Responded), "the first one's answer");
        }
        using (var other = ClientFor("reuse-b"))
        {
            var second = other.Submit(Service, file, name);
            Equal(SubmitOutcome.Sent, second.Outcome, "another system's journal lets it go");
            Equal(SubmissionState.Failed, Settle(other, name, SubmissionState.Failed), "the gateway refuses it: status 0");
            Submission failed = other.Submission(name);
            Equal("FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION", failed.ErrorCode, "the gateway's error code");
            var rejected = other.Rejected();
            Check(rejected.Count == 1 && rejected[0].Name == name, "listed as rejected");
            var report = other.PollWithReport();
            Check(report.Rejected.Count == 1 && report.Rejected[0].Name == name, "and in every poll's report");
            Submission acknowledged = other.CloseSubmission(name, "the name belongs to the other system");
            Check(acknowledged.State == SubmissionState.Failed && acknowledged.ClosedAt.HasValue, "acknowledged: still Failed, closed");
            Equal(0, other.Rejected().Count, "no longer listed");
        }
    }

    private static void WrongPassword()
    {
        const string wrong = "not-the-password-123";
        using (var config = ConfigFor("wrong-password", b => b.SetPassword(wrong)))
        {
            var e = Throws<AuthenticationException>(() => GatewayClient.Connect(config), "a wrong gateway password");
            if (e == null) return;
            Equal(500u, e.Code, "code");
            Equal("AUTHENTICATION", e.Kind, "kind");
            Equal(530, e.ServerReplyCode, "the server's reply code");
            Check(e.Message.Contains("CVR_12345678_UID_9876543210"), "names the user name: " + e.Message);
            Check(e.Message.Contains("password"), "names the password as the cause: " + e.Message);
            Check(!e.Message.Contains(wrong) && !e.ToString().Contains(wrong), "never shows it");
            Check(e is GatewayException, "a GatewayException");
        }
    }

    private static void Refusals()
    {
        using (var config = ConfigFor("unreachable", b => b.SetAddress(Gateway.New, "127.0.0.1", 1).SetTimeouts(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5))))
        {
            var e = Throws<GatewayConnectionException>(() => GatewayClient.Connect(config), "nobody listens");
            Check(e != null && e.Message.Contains("127.0.0.1") && e.ServerReplyCode == null, "names the address: " + (e == null ? "" : e.Message));
            using (var offline = GatewayClient.Open(config))
            {
                Equal(0, offline.Submissions().Count, "the journal without the network");
                Throws<GatewayConnectionException>(() => offline.Poll(), "a poll needs the gateway");
                Throws<UnknownSubmissionException>(() => offline.State("never-submitted.xml"), "an unknown name");
            }
        }
        using (var client = ClientFor("refusals"))
        {
            var e = Throws<ServiceNotAvailableException>(() => client.SubmitFile("No.Such.Service", UniqueFile("x.xml")), "an unknown service");
            Check(e != null && e.Message.Contains("nothing was sent"), "says nothing was sent");
            Throws<ArgumentNullException>(() => client.SubmitFile(null, "x"), "null service");
            Throws<ArgumentNullException>(() => client.State(null), "null name");
            Throws<ArgumentException>(() => client.State("a\0b"), "a NUL inside a string");
            Throws<LocalIoException>(() => client.SubmitFile(Service, Path.Combine(scratch, "missing.xml")), "a missing file");
        }
        string broken = Path.Combine(scratch, "broken.toml");
        File.WriteAllText(broken, "[profiles.x]\nport = 5\n");
        var config2 = Throws<ConfigException>(() => GatewayClient.FromConfig(broken), "a broken config file");
        Check(config2 != null && config2.Message.Contains("line 2"), "says where");
        Throws<ConfigException>(() => GatewayClient.FromConfig(Path.Combine(scratch, "none.toml")), "a missing config file");
        using (var builder = new GatewayConfigBuilder())
        {
            Throws<InvalidArgumentException>(() => builder.SetAddress(Gateway.New, "", 21), "an empty host");
            Throws<ArgumentOutOfRangeException>(() => builder.SetUploadAttempts(0), "zero attempts");
            Throws<InvalidArgumentException>(() => builder.SetTimeouts(TimeSpan.Zero, TimeSpan.FromSeconds(1)), "a zero time-out");
        }
    }

    private static void UseAfterDispose()
    {
        var client = ClientFor("disposed");
        string name = client.SubmitFile(Service, UniqueFile("disposed.xml"));
        client.Dispose();
        var e = Throws<ObjectDisposedException>(() => client.State(name), "State after Dispose");
        Check(e != null && e.ObjectName.Contains("GatewayClient"), "names the object");
        Throws<ObjectDisposedException>(() => client.Poll(), "Poll after Dispose");
        Throws<ObjectDisposedException>(() => client.SubmitFile(Service, "x"), "SubmitFile after Dispose");
        Throws<ObjectDisposedException>(() => { var n = client.UserName; }, "a property after Dispose");
        client.Dispose(); // a second Dispose does nothing
        var id = Identity.FromFile(Path.Combine(simDir, "client.p12"), Password("client.p12.password"));
        id.Dispose();
        Throws<ObjectDisposedException>(() => { var u = id.UserName; }, "Identity after Dispose");
        var config = ConfigFor("disposed");
        config.Dispose();
        Throws<ObjectDisposedException>(() => GatewayClient.Connect(config), "connecting with a disposed config");
        var builder = new GatewayConfigBuilder();
        builder.Dispose();
        Throws<ObjectDisposedException>(() => builder.SetJournal("x"), "a disposed builder");
    }

    private static long RssKiB()
    {
        foreach (string line in File.ReadAllLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:")) return long.Parse(Regex.Match(line, @"\d+").Value);
        return 0;
    }

    private static void ManyClients()
    {
        long baseline = Library.LiveHandles;
        using (var config = ConfigFor("many"))
        {
            int offline = quick ? 20 : 300, online = quick ? 3 : 30;
            for (int i = 0; i < 20; i++) using (var c = GatewayClient.Open(config)) { var u = c.UserName; }
            GC.Collect();
            long rss = RssKiB();
            for (int i = 0; i < offline; i++)
            {
                using (var c = GatewayClient.Open(config))
                {
                    Check(c.UserName.Length > 0 && c.Submissions().Count == 0, "client " + i);
                }
            }
            for (int i = 0; i < online; i++) using (var c = GatewayClient.Connect(config)) c.Services();
            Equal(baseline + 1, Library.LiveHandles, "every client's native handle freed (the config's is still live)");
            GC.Collect();
            GC.WaitForPendingFinalizers();
            long grown = RssKiB() - rss;
            if (!quick) Check(grown < 32 * 1024, "memory stays flat: grew " + grown + " KiB over " + (offline + online) + " clients");
        }
        Equal(baseline, Library.LiveHandles, "and the config's");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Abandon()
    {
        // Made and forgotten: no Dispose, no reference kept.
        var id = Identity.FromFile(Path.Combine(simDir, "client.p12"), Password("client.p12.password"));
        var config = ConfigFor("finalized");
        var client = GatewayClient.Open(config);
        var connected = GatewayClient.Connect(config);
        connected.Events += (s, e) => { };
        var builder = new GatewayConfigBuilder();
        Check(id.UserName.Length > 0 && client.UserName.Length > 0 && connected.Services().Count > 0 && builder != null, "made");
    }

    private static void Finalizer()
    {
        long baseline = Library.LiveHandles;
        Abandon();
        Check(Library.LiveHandles >= baseline + 5, "the handles are live before the collection");
        for (int i = 0; i < 10 && Library.LiveHandles > baseline; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Equal(baseline, Library.LiveHandles, "the finalizers freed them");
    }

    private static void TwoThreads()
    {
        using (var client = ClientFor("threads"))
        {
            const int perThread = 3;
            var names = new List<string>();
            var errors = new List<Exception>();
            var threads = new Thread[2];
            for (int t = 0; t < 2; t++)
            {
                int index = t;
                threads[t] = new Thread(() =>
                {
                    try
                    {
                        for (int i = 0; i < perThread; i++)
                        {
                            string name = client.SubmitFile(Service, UniqueFile("thread" + index + "-" + i + ".xml"));
                            lock (names) names.Add(name);
                            client.Poll();
                            var state = client.State(name);
                            if (state < SubmissionState.Uploaded || state == SubmissionState.Failed) throw new Exception(name + " is " + state);
                        }
                    }
                    catch (Exception e) { lock (errors) errors.Add(e); }
                });
                threads[t].Start();
            }
            foreach (var t in threads) t.Join();
            Check(errors.Count == 0, "no thread failed: " + string.Join("; ", errors));
            Equal(2 * perThread, new HashSet<string>(names).Count, "every name unique");
            foreach (string name in names) Equal(SubmissionState.Responded, Settle(client, name, SubmissionState.Responded), "answered: " + name);
            Equal(2 * perThread, client.Submissions().Count, "the journal holds each once");
        }
    }

    private static void ThrowingCallbacks()
    {
        long before = Library.CallbackExceptions;
        int reported = 0, lines = 0;
        EventHandler<CallbackExceptionEventArgs> report = (s, e) => { Interlocked.Increment(ref reported); if (e.Exception.Message != "thrown by the test's log handler" && e.Exception.Message != "thrown by the test's event handler") throw new Exception("unexpected"); };
        Library.UnhandledCallbackException += report;
        try
        {
            Library.SetLogHandler((level, target, message) =>
            {
                Interlocked.Increment(ref lines);
                throw new InvalidOperationException("thrown by the test's log handler");
            }, LogLevel.Debug);
            using (var client = ClientFor("throwing"))
            {
                client.Events += (sender, e) => { throw new InvalidOperationException("thrown by the test's event handler"); };
                string name = client.SubmitFile(Service, UniqueFile("throwing.xml"));
                Equal(SubmissionState.Responded, Settle(client, name, SubmissionState.Responded), "the work goes on");
            }
            Library.SetLogHandler(null);
            Check(lines > 5, "the log handler was called: " + lines);
            long thrown = Library.CallbackExceptions - before;
            Check(thrown > lines, "every exception was caught at the boundary: " + thrown + " for " + lines + " log lines and the events");
            Check(reported > 0, "and reported through UnhandledCallbackException");

            // A handler that works sees the messages, never a password.
            var text = new StringBuilder();
            Library.SetLogHandler((level, target, message) => { lock (text) text.AppendLine(level + " " + target + ": " + message); }, LogLevel.Trace);
            using (var client = ClientFor("logged")) client.Services();
            Library.SetLogHandler(null);
            string log = text.ToString();
            Check(log.Contains("gateway"), "log lines arrive");
            Check(!log.Contains(Password("gateway.password")) && !log.Contains(Password("client.p12.password")), "no secret in the log");
        }
        finally
        {
            Library.SetLogHandler(null);
            Library.UnhandledCallbackException -= report;
        }
    }

    private static void Utf8Paths()
    {
        string folder = Path.Combine(scratch, "Ærø-æøå-日本");
        Directory.CreateDirectory(folder);
        string file = Path.Combine(folder, "Ærø-anmeldelse.xml");
        File.WriteAllText(file, "<arrival>Ærø " + Guid.NewGuid() + "</arrival>");
        using (var config = ConfigFor("utf8", b => b.SetJournal(Path.Combine(folder, "journal-ø.sqlite")).SetInbox(Path.Combine(folder, "indbakke-å"))))
        using (var client = GatewayClient.Connect(config))
        {
            Equal(Path.Combine(folder, "journal-ø.sqlite"), config.JournalPath, "a non-ASCII journal path round trips");
            var result = client.Submit(Service, file);
            Check(result.Name.StartsWith("Aeroe-anmeldelse-"), "Danish letters spelled out in the name: " + result.Name);
            Equal(file, result.Submission.LocalPath, "the path comes back as it went in");
            Equal(SubmissionState.Responded, Settle(client, result.Name, SubmissionState.Responded), "answered");
            var record = client.Submission(result.Name);
            Check(record.Receipts.Count == 3 && record.Receipts[0].LocalPath.StartsWith(Path.Combine(folder, "indbakke-å")), "receipts in the non-ASCII inbox: " + (record.Receipts.Count > 0 ? record.Receipts[0].LocalPath : "none"));
            Check(File.Exists(record.Receipts[0].LocalPath), "and really there");
        }
    }

    private static void Session()
    {
        using (var config = GatewayConfig.FromFile(ConfigPath))
        using (var session = GatewaySession.Connect(config))
        {
            Equal("sim", config.Profile, "the profile");
            Equal("CVR_12345678_UID_9876543210", session.UserName, "logged in");
            var root = session.List();
            bool outSeen = false;
            foreach (var e in root) if (e.Name == "out" && e.IsDirectory && e.Size == null) outSeen = true;
            Check(outSeen, "out is a folder");
            string local = Path.Combine(scratch, "session-heartbeat.xml");
            File.WriteAllText(local, "<heartbeat/>\n");
            string remote = "FTPSGW.Heartbeat/session-" + Guid.NewGuid().ToString("N") + ".xml";
            long last = -1;
            Equal(13L, session.PutFile(local, remote, TransferType.Binary, (done, total) => last = done), "bytes sent");
            Equal(13L, last, "progress reported");
            Throws<PermissionDeniedException>(() => session.PutBytes(new byte[] { 1 }, "out/not-allowed.xml"), "no uploads into out");
            Throws<RemoteNotFoundException>(() => session.GetFile("out/no-such-file.xml", Path.Combine(scratch, "x")), "a missing remote file");
            session.Quit();
            Throws<InvalidArgumentException>(() => session.List(), "after Quit");
        }
    }

    private static void InProcessSimulator()
    {
        string dir;
        int lines = 0;
        // The simulator's own threads log too: the handler is called on threads .NET did not start.
        Library.SetLogHandler((level, target, message) => Interlocked.Increment(ref lines), LogLevel.Debug);
        using (var sim = Simulator.Start())
        {
            dir = sim.DirectoryPath;
            Check(File.Exists(sim.ConfigPath) && sim.Port > 0 && sim.LegacyPort > 0, "started: " + sim.ConfigPath);
            Equal("CVR_12345678_UID_9876543210", sim.UserName, "its user name");
            using (var client = GatewayClient.FromConfig(sim.ConfigPath))
            {
                string name = client.SubmitFile(Service, UniqueFile("in-process.xml"));
                Equal(SubmissionState.Responded, Settle(client, name, SubmissionState.Responded), "answered");
                sim.SetBackendAvailable(false);
                string waiting = client.SubmitFile(Service, UniqueFile("backend-down.xml"));
                Thread.Sleep(300);
                var report = client.PollWithReport();
                Check(new List<string>(report.Pending).Contains(waiting), "waits while the backend is down");
                sim.SetBackendAvailable(true);
                Equal(SubmissionState.Responded, Settle(client, waiting, SubmissionState.Responded), "and is answered once it is up");
            }
            sim.Stop();
            Throws<GatewayConnectionException>(() => GatewayClient.FromConfig(sim.ConfigPath), "stopped");
        }
        Library.SetLogHandler(null);
        Check(lines > 10, "log lines from the simulator's threads: " + lines);
        Check(!Directory.Exists(dir), "its temporary folder is gone");
        Throws<InvalidArgumentException>(() => { using (Simulator.Start(Path.Combine(simDir, "client.toml"))) { } }, "a file is not a folder");
    }
}
