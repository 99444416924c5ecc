// Gateway.cs: Skat.Gateway, the .NET face of libgateway (the Danish customs agency's FTPS Gateway for ICS
// and Manifest). Thin: every member calls one C function (Native.cs) and turns its result into .NET terms.
//
//   using (var client = GatewayClient.FromConfig("client.toml"))
//   {
//       string name = client.SubmitFile("Manifest.AnkomstdeklarationOpret", "declaration.xml");
//       client.Poll();
//       Console.WriteLine(client.State(name));
//   }
//
// Objects that own a native handle (Identity, GatewayConfigBuilder, GatewayConfig, GatewayClient,
// GatewaySession, Simulator) are IDisposable; a forgotten one is freed by its SafeHandle's finalizer. What
// calls return (Submission, Receipt, PollReport, ...) are plain immutable snapshots: read out at once, their
// native handles freed before the call returns. Every member may be called from any thread; calls on one
// client or session are serialized inside the library.
using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;

namespace Skat.Gateway
{
    // ==== exceptions: one base with the stable code, one class per area (the same grouping as Python's).

    /// <summary>Every failure of the library. <see cref="Code"/> is the C library's stable number for the
    /// cause (gw_result), <see cref="Kind"/> its name ("AUTHENTICATION", ...), and the message says what
    /// happened and what to do (never a password or key).</summary>
    public class GatewayException : Exception
    {
        public uint Code { get; }
        /// <summary>The cause's name: the C constant without GW_ERR_, e.g. "CERTIFICATE_PASSWORD".</summary>
        public string Kind { get; }
        /// <summary>The server's reply code when a reply caused the failure (530 for a refused login), else null.</summary>
        public int? ServerReplyCode { get; }
        /// <summary>The server's reply text when a reply caused the failure, else null.</summary>
        public string ServerReplyText { get; }

        public GatewayException(string message, uint code) : this(message, code, null, null, null) { }

        public GatewayException(string message, uint code, string kind, int? serverReplyCode, string serverReplyText, Exception inner = null)
            : base(message, inner)
        {
            Code = code;
            Kind = kind ?? ResultCodes.KindOf(code);
            ServerReplyCode = serverReplyCode;
            ServerReplyText = serverReplyText;
        }

        /// <summary>The exception for a failed call, from the calling thread's last error.</summary>
        internal static GatewayException FromLastError(uint result)
        {
            // The last error is kept per thread, and .NET runs a call and this on the same OS thread.
            string message = Utf8.TryOut(Native.gw_last_error);
            uint reply = 0;
            string text = Utf8.TryOut((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_last_error_server_reply(out reply, b, l, out n));
            if (string.IsNullOrEmpty(message)) message = Library.ResultText(result);
            return Create(message, result, reply == 0 ? (int?)null : (int)reply, reply == 0 ? null : text);
        }

        /// <summary>The exception for a code and a message of our own (a file of SubmitFiles that failed).</summary>
        internal static GatewayException FromCode(uint result, string message)
        {
            return Create(message, result, null, null);
        }

        private static GatewayException Create(string m, uint c, int? rc, string rt)
        {
            string k = ResultCodes.KindOf(c);
            switch (c)
            {
                case 100: return new InvalidArgumentException(m, c, k, rc, rt);
                case 101: return new LocalIoException(m, c, k, rc, rt);
                case 102: return new ConfigException(m, c, k, rc, rt);
                case 202: return new CertificatePasswordException(m, c, k, rc, rt);
                case 402: return new GatewayTimeoutException(m, c, k, rc, rt);
                case 403: return new ConnectionLostException(m, c, k, rc, rt);
                case 500: return new AuthenticationException(m, c, k, rc, rt);
                case 501: return new PermissionDeniedException(m, c, k, rc, rt);
                case 502: return new RemoteNotFoundException(m, c, k, rc, rt);
                case 503: return new TlsException(m, c, k, rc, rt); // the server requires TLS session reuse
                case 599: case 606: return new ProtocolException(m, c, k, rc, rt);
                case 600: return new ServiceNotAvailableException(m, c, k, rc, rt);
                case 601: return new FilenameReusedException(m, c, k, rc, rt);
                case 602: return new InvalidFilenameException(m, c, k, rc, rt);
                case 603: return new SubmissionRejectedException(m, c, k, rc, rt);
                case 604: return new SubmissionOverdueException(m, c, k, rc, rt);
                case 605: return new UnknownSubmissionException(m, c, k, rc, rt);
                case 700: return new JournalException(m, c, k, rc, rt);
                case 800: return new SimulatorException(m, c, k, rc, rt);
            }
            if (c >= 200 && c < 300) return new CertificateException(m, c, k, rc, rt);
            if (c >= 300 && c < 400) return new TlsException(m, c, k, rc, rt);
            if (c >= 400 && c < 500) return new GatewayConnectionException(m, c, k, rc, rt);
            // 1-99 (misuse of the C API, a caught panic), 199 and unknown numbers: a bug, here or in the library.
            return new GatewayInternalException(m, c, k, rc, rt);
        }
    }

    /// <summary>An argument is not acceptable (empty, malformed, out of range), e.g. an empty file to submit.</summary>
    public class InvalidArgumentException : GatewayException { public InvalidArgumentException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>A local file or folder could not be read or written (the inbox, a file to submit, a spool copy).</summary>
    public class LocalIoException : GatewayException { public LocalIoException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>The configuration (a profile, an environment variable, a password file) is wrong.</summary>
    public class ConfigException : GatewayException { public ConfigException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>A bug in skat-gateway (or a misuse of the C library this wrapper should have prevented): please report it.</summary>
    public class GatewayInternalException : GatewayException { public GatewayInternalException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>The certificate: unreadable, damaged, without key, not one the gateway accepts, expired or not yet valid.</summary>
    public class CertificateException : GatewayException { public CertificateException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>The PKCS#12 file's password is wrong, or the file needs one and none was given.</summary>
    public class CertificatePasswordException : CertificateException { public CertificatePasswordException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>TLS with the server failed: its version, its certificate, or our client certificate refused.</summary>
    public class TlsException : GatewayException { public TlsException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>The network: host not found, connection refused, no answer in time, connection lost. Usually worth
    /// trying again later; nothing is lost (the journal keeps every submission).</summary>
    public class GatewayConnectionException : GatewayException { public GatewayConnectionException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>The server did not answer in time.</summary>
    public class GatewayTimeoutException : GatewayConnectionException { public GatewayTimeoutException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>The connection broke off in the middle of an exchange.</summary>
    public class ConnectionLostException : GatewayConnectionException { public ConnectionLostException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>Login refused: the user name or gateway password is wrong, or the certificate is not registered for them.</summary>
    public class AuthenticationException : GatewayException { public AuthenticationException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>The server refused the operation on that path.</summary>
    public class PermissionDeniedException : GatewayException { public PermissionDeniedException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>No such file or folder on the server.</summary>
    public class RemoteNotFoundException : GatewayException { public RemoteNotFoundException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>The server sent a reply, or a status file, that skat-gateway did not expect.</summary>
    public class ProtocolException : GatewayException { public ProtocolException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>The certificate may not use that service; nothing was sent.</summary>
    public class ServiceNotAvailableException : GatewayException { public ServiceNotAvailableException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>The filename was used before (the gateway accepts a name once); nothing was sent.</summary>
    public class FilenameReusedException : GatewayException { public FilenameReusedException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>The filename breaks the gateway's naming rules.</summary>
    public class InvalidFilenameException : GatewayException { public InvalidFilenameException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>The gateway rejected the submission (status 0).</summary>
    public class SubmissionRejectedException : GatewayException { public SubmissionRejectedException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>No status arrived before the deadline.</summary>
    public class SubmissionOverdueException : GatewayException { public SubmissionOverdueException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>No submission of that name in the journal.</summary>
    public class UnknownSubmissionException : GatewayException { public UnknownSubmissionException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>The journal could not be used.</summary>
    public class JournalException : GatewayException { public JournalException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }
    /// <summary>The gateway simulator failed (e.g. a port in use).</summary>
    public class SimulatorException : GatewayException { public SimulatorException(string m, uint c, string k, int? rc, string rt) : base(m, c, k, rc, rt) { } }

    /// <summary>The names of the C library's result codes (the GW_ERR_* constants of gateway.h).</summary>
    public static class ResultCodes
    {
        private static readonly Dictionary<uint, string> Names = new Dictionary<uint, string>
        {
            { 0, "OK" }, { 1, "NULL_ARGUMENT" }, { 2, "BUFFER_TOO_SMALL" }, { 3, "PANIC" }, { 4, "INVALID_HANDLE" },
            { 100, "INVALID_ARGUMENT" }, { 101, "IO" }, { 102, "CONFIG" }, { 199, "INTERNAL" },
            { 200, "CERTIFICATE_FILE_UNREADABLE" }, { 201, "CERTIFICATE_FORMAT" }, { 202, "CERTIFICATE_PASSWORD" },
            { 203, "PRIVATE_KEY_MISSING" }, { 204, "PRIVATE_KEY_MISMATCH" }, { 205, "NOT_A_GATEWAY_CERTIFICATE" },
            { 206, "CERTIFICATE_EXPIRED" }, { 207, "CERTIFICATE_NOT_YET_VALID" },
            { 300, "TLS_PROTOCOL_VERSION" }, { 301, "TLS_UNKNOWN_CA" }, { 302, "TLS_BAD_SERVER_CERTIFICATE" },
            { 303, "TLS_HOSTNAME_MISMATCH" }, { 304, "TLS_CLIENT_CERTIFICATE_REJECTED" }, { 399, "TLS" },
            { 400, "HOST_NOT_FOUND" }, { 401, "CONNECTION_REFUSED" }, { 402, "TIMEOUT" }, { 403, "CONNECTION_LOST" },
            { 500, "AUTHENTICATION" }, { 501, "PERMISSION_DENIED" }, { 502, "NOT_FOUND" },
            { 503, "TLS_SESSION_REUSE_REQUIRED" }, { 599, "UNEXPECTED_REPLY" },
            { 600, "SERVICE_NOT_AVAILABLE" }, { 601, "FILENAME_REUSED" }, { 602, "INVALID_FILENAME" },
            { 603, "SUBMISSION_REJECTED" }, { 604, "SUBMISSION_OVERDUE" }, { 605, "UNKNOWN_SUBMISSION" },
            { 606, "INVALID_STATUS_FILE" }, { 700, "JOURNAL" }, { 800, "SIMULATOR" },
        };

        /// <summary>"AUTHENTICATION" for 500, ...; "UNKNOWN_N" for a number N this version does not know.</summary>
        public static string KindOf(uint code)
        {
            string name;
            return Names.TryGetValue(code, out name) ? name : "UNKNOWN_" + code;
        }

        /// <summary>Every code this version knows, with its name.</summary>
        public static IReadOnlyDictionary<uint, string> All { get { return new ReadOnlyDictionary<uint, string>(Names); } }
    }

    // ==== enums. SubmissionState is the fixed contract's (values 0-8 in this order); the others carry the
    // C numbers.

    /// <summary>Where a submission stands; see the README for the transitions.</summary>
    public enum SubmissionState { Reserved, Uploading, Uploaded, Delivered, Accepted, Responded, Failed, Overdue, Closed }

    public enum CertificateKind : uint { Company = 1, Employee = 2, Function = 3, Oces3Organisation = 4, Oces3Employee = 5, Other = 99 }
    public enum CertificateValidity : uint { Valid = 0, Expired = 1, NotYetValid = 2 }
    /// <summary>Which of the agency's two gateways.</summary>
    public enum Gateway : uint { New = 0, Legacy = 1 }
    public enum GatewayEnvironment : uint { Tfe = 0, Production = 1 }
    public enum TransferType : uint { Binary = 0, Ascii = 1 }
    public enum GatewaySystem : uint { Unknown = 0, Ics = 1, Manifest = 2, Gateway = 3 }
    /// <summary>What a submit did.</summary>
    public enum SubmitOutcome : uint { Sent = 1, Resumed = 2, AlreadySubmitted = 3 }
    /// <summary>What applying a receipt to the journal did.</summary>
    public enum ReceiptOutcome : uint { NotApplied = 0, Applied = 1, ReuseAfterRetryIgnored = 2, UnknownName = 3, AlreadyRecorded = 4, OthersReuse = 5 }
    public enum LogLevel : uint { Off = 0, Error = 1, Warn = 2, Info = 3, Debug = 4, Trace = 5 }
    public enum GatewayEventKind : uint
    {
        Connecting = 1, Connected = 2, Reserved = 3, Snapshotting = 4, Uploading = 5, Uploaded = 6, Retrying = 7,
        WaitingForOtherPoll = 8, Downloaded = 9, Receipt = 10, DeletedRemote = 11, WaitingForOtherUpload = 12,
    }

    [Flags]
    public enum SubmitFlags : uint
    {
        None = 0,
        /// <summary>Send even if the same content went to the same service before and did not fail (under a new name).</summary>
        Again = 1,
        /// <summary>Send an empty file (refused by default: almost always a half-written export).</summary>
        AllowEmpty = 2,
    }

    [Flags]
    public enum PollFlags : uint
    {
        None = 0,
        /// <summary>Leave every file in out.</summary>
        KeepRemote = 1,
        /// <summary>Also delete files in out that belong to no submission of this journal.</summary>
        DeleteUnknown = 2,
    }

    // ==== the library as a whole

    /// <summary>Receives one log line: level, target (the module) and message. Never holds a password.</summary>
    public delegate void LogHandler(LogLevel level, string target, string message);

    public static class Library
    {
        private static readonly object LogLock = new object();
        // One delegate for the life of the process: the library may still be inside a call to it on another
        // thread when the handler is replaced, so it is never let go.
        private static readonly Native.LogCallback LogCallback = OnLog;
        private static volatile LogHandler logHandler;
        private static long callbackExceptions;

        /// <summary>"MAJOR.MINOR.PATCH" of the loaded native library.</summary>
        public static string Version { get { return Utf8.FromPointer(Native.gw_version()); } }

        /// <summary>How many native handles are not yet freed, of every type (for leak checks in tests).</summary>
        public static long LiveHandles { get { return (long)Native.gw_handles_live().ToUInt64(); } }

        /// <summary>A one-line English summary of a result code, e.g. "login refused".</summary>
        public static string ResultText(uint code)
        {
            // gw_result_text returns nothing: a text that did not fit shows as a length >= the buffer's.
            byte[] buf = new byte[128];
            UIntPtr n;
            Native.gw_result_text(code, buf, (UIntPtr)buf.Length, out n);
            if (n.ToUInt64() >= (ulong)buf.Length)
            {
                buf = new byte[(int)n.ToUInt64() + 1];
                Native.gw_result_text(code, buf, (UIntPtr)buf.Length, out n);
            }
            return System.Text.Encoding.UTF8.GetString(buf, 0, (int)Math.Min(n.ToUInt64(), (ulong)buf.Length - 1));
        }

        /// <summary>Sends the library's log lines up to <paramref name="maxLevel"/> to <paramref name="handler"/>
        /// (null, or LogLevel.Off, stops logging). Process-wide; replaces an earlier handler. The handler may be
        /// called on any thread, but one call at a time (the library serializes them); an exception it throws is caught (see
        /// <see cref="CallbackExceptions"/>) and never reaches the library.</summary>
        public static void SetLogHandler(LogHandler handler, LogLevel maxLevel = LogLevel.Info)
        {
            lock (LogLock)
            {
                if (handler == null || maxLevel == LogLevel.Off)
                {
                    Native.Check(Native.gw_set_log_callback(null, IntPtr.Zero, 0));
                    logHandler = null;
                    return;
                }
                logHandler = handler;
                Native.Check(Native.gw_set_log_callback(LogCallback, IntPtr.Zero, (uint)maxLevel));
            }
        }

        private static void OnLog(IntPtr userdata, uint level, IntPtr target, IntPtr message)
        {
            try
            {
                LogHandler handler = logHandler;
                if (handler != null) handler((LogLevel)level, Utf8.FromPointer(target), Utf8.FromPointer(message));
            }
            catch (Exception e)
            {
                CallbackFailed(e);
            }
        }

        /// <summary>How many exceptions user callbacks (log handler, event and progress handlers) threw. They are
        /// caught at the boundary: an exception must not unwind through the native library.</summary>
        public static long CallbackExceptions { get { return Interlocked.Read(ref callbackExceptions); } }

        /// <summary>Raised (on the thread of the callback) for each exception a user callback threw; handlers of
        /// this event that throw are ignored.</summary>
        public static event EventHandler<CallbackExceptionEventArgs> UnhandledCallbackException;

        internal static void CallbackFailed(Exception e)
        {
            Interlocked.Increment(ref callbackExceptions);
            try
            {
                EventHandler<CallbackExceptionEventArgs> report = UnhandledCallbackException;
                if (report != null) report(null, new CallbackExceptionEventArgs(e));
            }
            catch (Exception)
            {
                // Nowhere left to report it; unwinding into the library is the one thing that must not happen.
            }
        }
    }

    public sealed class CallbackExceptionEventArgs : EventArgs
    {
        public Exception Exception { get; }
        internal CallbackExceptionEventArgs(Exception e) { Exception = e; }
    }

    // ==== identity

    /// <summary>A client certificate with its private key (wiped in native memory when disposed) and chain.</summary>
    public sealed class Identity : IDisposable
    {
        internal readonly IdentityHandle Handle;
        private Identity(IdentityHandle handle) { Handle = handle; }

        /// <summary>Reads a PKCS#12 (.p12/.pfx) or PEM file, detected from the content. <paramref name="password"/>
        /// opens a PKCS#12 file; null means none.</summary>
        public static Identity FromFile(string path, string password)
        {
            byte[] secret = Utf8.In(password, "password");
            try
            {
                IdentityHandle h;
                return new Identity(Native.Take(Native.gw_identity_from_file(Utf8.Required(path, "path"), secret, out h), h));
            }
            finally { Wipe(secret); }
        }

        /// <summary>Reads PEM files: the certificate (and intermediates) and the private key (null: in the certificate file).</summary>
        public static Identity FromPemFiles(string certificatePath, string keyPath = null)
        {
            IdentityHandle h;
            return new Identity(Native.Take(Native.gw_identity_from_pem_files(Utf8.Required(certificatePath, "certificatePath"), Utf8.In(keyPath, "keyPath"), out h), h));
        }

        /// <summary>Reads PKCS#12 bytes held in memory.</summary>
        public static Identity FromPkcs12(byte[] data, string password)
        {
            if (data == null) throw new ArgumentNullException("data");
            byte[] secret = Utf8.In(password, "password");
            try
            {
                IdentityHandle h;
                return new Identity(Native.Take(Native.gw_identity_from_pkcs12(data, (UIntPtr)data.Length, secret, out h), h));
            }
            finally { Wipe(secret); }
        }

        /// <summary>Reads PEM held in memory: certificate(s) and key (null: in <paramref name="certificate"/>).</summary>
        public static Identity FromPem(byte[] certificate, byte[] key = null)
        {
            if (certificate == null) throw new ArgumentNullException("certificate");
            IdentityHandle h;
            return new Identity(Native.Take(Native.gw_identity_from_pem(certificate, (UIntPtr)certificate.Length, key, (UIntPtr)(key == null ? 0 : key.Length), out h), h));
        }

        private IdentityHandle H { get { return Live.Check(Handle, this); } }

        /// <summary>The gateway user name derived from the certificate (CVR_..._UID_..., ...).</summary>
        public string UserName { get { return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_identity_username(H, b, l, out n)); } }
        public CertificateKind Kind { get { uint k; Native.Check(Native.gw_identity_kind(H, out k)); return (CertificateKind)k; } }
        /// <summary>VOCES, MOCES, FOCES, OCES3-organisation, OCES3-employee or other.</summary>
        public string KindName { get { return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_identity_kind_name(H, b, l, out n)); } }
        /// <summary>The CVR number, or empty when the subject names none.</summary>
        public string Cvr { get { return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_identity_cvr(H, b, l, out n)); } }
        /// <summary>The UID, RID or FID (OCES II) or UUID (OCES3), or empty.</summary>
        public string Id { get { return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_identity_id(H, b, l, out n)); } }
        public string Subject { get { return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_identity_subject(H, b, l, out n)); } }
        public string Issuer { get { return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_identity_issuer(H, b, l, out n)); } }
        public string SerialNumber { get { return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_identity_serial(H, b, l, out n)); } }
        /// <summary>SHA-256 fingerprint as AB:CD:...</summary>
        public string Fingerprint { get { return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_identity_fingerprint(H, b, l, out n)); } }
        public DateTimeOffset NotBefore { get { long s; Native.Check(Native.gw_identity_not_before(H, out s)); return Time.FromSeconds(s); } }
        public DateTimeOffset NotAfter { get { long s; Native.Check(Native.gw_identity_not_after(H, out s)); return Time.FromSeconds(s); } }
        public CertificateValidity Validity { get { uint v; long d; Native.Check(Native.gw_identity_validity(H, out v, out d)); return (CertificateValidity)v; } }
        /// <summary>Whole days until it expires (negative once expired).</summary>
        public long DaysLeft { get { uint v; long d; Native.Check(Native.gw_identity_validity(H, out v, out d)); return d; } }
        /// <summary>Throws a <see cref="CertificateException"/> saying the date and what to do, unless valid now.</summary>
        public void CheckValid() { Native.Check(Native.gw_identity_check_valid(H)); }
        /// <summary>The public certificate (leaf only, never the key) in PEM.</summary>
        public string PublicPem { get { return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_identity_public_pem(H, b, l, out n)); } }

        /// <summary>Writes the public certificate as DIR/USERNAME.pem, the file the agency asks for at
        /// registration, and returns its path. An existing file is replaced only with <paramref name="overwrite"/>.</summary>
        public string ExportPublicPem(string directory, string userName = null, bool overwrite = false)
        {
            byte[] dir = Utf8.Required(directory, "directory"), user = Utf8.In(userName, "userName");
            return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_identity_export_public_pem(H, dir, user, overwrite, b, l, out n));
        }

        public void Dispose() { Handle.Dispose(); }

        internal static void Wipe(byte[] secret) { if (secret != null) Array.Clear(secret, 0, secret.Length); }
    }

    // ==== configuration

    /// <summary>Settings put together field by field, or starting from a profile of a TOML config file. Every
    /// setter returns the builder, so calls chain.</summary>
    public sealed class GatewayConfigBuilder : IDisposable
    {
        private readonly ConfigBuilderHandle handle;
        private GatewayConfigBuilder(ConfigBuilderHandle h) { handle = h; }

        /// <summary>Nothing but defaults: TFE, system trust roots, time-outs of 30 s and 2 min, a deadline of 6 h,
        /// journal.sqlite and inbox in the current folder (set both), no certificate, no password.</summary>
        public GatewayConfigBuilder()
        {
            ConfigBuilderHandle h;
            handle = Native.Take(Native.gw_config_builder_new(out h), h);
        }

        /// <summary>Starts from <paramref name="profile"/> (null: the default one) of a TOML config file, with the
        /// SKAT_GATEWAY_* environment variables applied, as the command-line tool reads it.</summary>
        public static GatewayConfigBuilder FromFile(string path, string profile = null)
        {
            ConfigBuilderHandle h;
            return new GatewayConfigBuilder(Native.Take(Native.gw_config_builder_from_file(Utf8.Required(path, "path"), Utf8.In(profile, "profile"), out h), h));
        }

        private ConfigBuilderHandle H { get { return Live.Check(handle, this); } }
        private GatewayConfigBuilder Do(uint result) { Native.Check(result); return this; }

        public GatewayConfigBuilder SetEnvironment(GatewayEnvironment environment) { return Do(Native.gw_config_builder_set_environment(H, (uint)environment)); }
        /// <summary>The host and control port of one gateway (a simulator, a test server).</summary>
        public GatewayConfigBuilder SetAddress(Gateway gateway, string host, int port) { return Do(Native.gw_config_builder_set_address(H, (uint)gateway, Utf8.Required(host, "host"), Port(port, "port"))); }
        public GatewayConfigBuilder SetDataPorts(Gateway gateway, int first, int last) { return Do(Native.gw_config_builder_set_data_ports(H, (uint)gateway, Port(first, "first"), Port(last, "last"))); }
        /// <summary>The certificate file (PKCS#12 or PEM); for PEM with the key apart, <paramref name="keyPath"/>.</summary>
        public GatewayConfigBuilder SetCertificate(string path, string keyPath = null) { return Do(Native.gw_config_builder_set_certificate(H, Utf8.Required(path, "path"), Utf8.In(keyPath, "keyPath"))); }
        public GatewayConfigBuilder SetCertificatePassword(string password) { return Secret(password, (p, n) => Native.gw_config_builder_set_certificate_password(H, p, n)); }
        public GatewayConfigBuilder SetCertificatePasswordFile(string path) { return Do(Native.gw_config_builder_set_certificate_password_file(H, Utf8.Required(path, "path"))); }
        /// <summary>The agency's password for the new gateway.</summary>
        public GatewayConfigBuilder SetPassword(string password) { return Secret(password, (p, n) => Native.gw_config_builder_set_password(H, p, n)); }
        public GatewayConfigBuilder SetPasswordFile(string path) { return Do(Native.gw_config_builder_set_password_file(H, Utf8.Required(path, "path"))); }
        /// <summary>The user name to log in with when the one derived from the certificate is wrong (null: derive it).</summary>
        public GatewayConfigBuilder SetUserName(string userName) { return Do(Native.gw_config_builder_set_username(H, Utf8.In(userName, "userName"))); }
        public GatewayConfigBuilder SetCaFile(string path) { return Do(Native.gw_config_builder_set_ca_file(H, Utf8.In(path, "path"))); }
        public GatewayConfigBuilder SetSystemRoots(bool trusted) { return Do(Native.gw_config_builder_set_system_roots(H, trusted)); }
        /// <summary>The journal (SQLite file): keep one per certificate and system, somewhere that survives restarts.</summary>
        public GatewayConfigBuilder SetJournal(string path) { return Do(Native.gw_config_builder_set_journal(H, Utf8.Required(path, "path"))); }
        public GatewayConfigBuilder SetInbox(string path) { return Do(Native.gw_config_builder_set_inbox(H, Utf8.Required(path, "path"))); }
        public GatewayConfigBuilder SetDeadline(TimeSpan deadline) { return Do(Native.gw_config_builder_set_deadline_ms(H, Millis(deadline, "deadline"))); }
        public GatewayConfigBuilder SetTimeouts(TimeSpan connect, TimeSpan io) { return Do(Native.gw_config_builder_set_timeouts(H, Millis(connect, "connect"), Millis(io, "io"))); }
        public GatewayConfigBuilder SetDefaultGateway(Gateway gateway) { return Do(Native.gw_config_builder_set_default_gateway(H, (uint)gateway)); }
        /// <summary>Routes services matching <paramref name="pattern"/> ("Manifest.*") to a gateway.</summary>
        public GatewayConfigBuilder AddRoute(string pattern, Gateway gateway) { return Do(Native.gw_config_builder_add_route(H, Utf8.Required(pattern, "pattern"), (uint)gateway)); }
        public GatewayConfigBuilder SetUploadAttempts(int attempts)
        {
            if (attempts < 1) throw new ArgumentOutOfRangeException("attempts", attempts, "give 1 to 100");
            return Do(Native.gw_config_builder_set_upload_attempts(H, (uint)attempts));
        }
        /// <summary>How many sessions <see cref="GatewayClient.SubmitFiles"/> and the polls use at once (default 4; 1-8;
        /// one more for each 4 files only).</summary>
        public GatewayConfigBuilder SetSessions(int sessions)
        {
            if (sessions < 1 || sessions > 8) throw new ArgumentOutOfRangeException("sessions", sessions, "give 1 to 8");
            return Do(Native.gw_config_builder_set_sessions(H, (uint)sessions));
        }

        /// <summary>A new immutable config with a copy of the settings; the builder stays usable.</summary>
        public GatewayConfig Build()
        {
            ConfigHandle h;
            return new GatewayConfig(Native.Take(Native.gw_config_builder_build(H, out h), h));
        }

        public void Dispose() { handle.Dispose(); }

        private delegate uint SecretCall(byte[] password, UIntPtr len);
        private GatewayConfigBuilder Secret(string password, SecretCall call)
        {
            byte[] secret = Utf8.Secret(password, "password");
            try { return Do(call(secret, (UIntPtr)secret.Length)); }
            finally { Identity.Wipe(secret); }
        }

        private static ushort Port(int port, string argument)
        {
            if (port < 0 || port > 65535) throw new ArgumentOutOfRangeException(argument, port, "a port is 0-65535");
            return (ushort)port;
        }

        internal static ulong Millis(TimeSpan span, string argument)
        {
            if (span < TimeSpan.Zero) throw new ArgumentOutOfRangeException(argument, span, "a duration cannot be negative");
            return (ulong)span.Ticks / TimeSpan.TicksPerMillisecond;
        }
    }

    /// <summary>Finished, immutable settings (thread-safe): what clients and sessions connect with.</summary>
    public sealed class GatewayConfig : IDisposable
    {
        internal readonly ConfigHandle Handle;
        internal GatewayConfig(ConfigHandle h) { Handle = h; }

        /// <summary>A profile (null: the default) of a TOML config file, with SKAT_GATEWAY_* variables applied.</summary>
        public static GatewayConfig FromFile(string path, string profile = null)
        {
            ConfigHandle h;
            return new GatewayConfig(Native.Take(Native.gw_config_from_file(Utf8.Required(path, "path"), Utf8.In(profile, "profile"), out h), h));
        }

        internal ConfigHandle H { get { return Live.Check(Handle, this); } }
        public string Profile { get { return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_config_profile(H, b, l, out n)); } }
        public string JournalPath { get { return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_config_journal(H, b, l, out n)); } }
        public string InboxPath { get { return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_config_inbox(H, b, l, out n)); } }
        public void Dispose() { Handle.Dispose(); }
    }

    // ==== the client

    /// <summary>A progress or milestone event of a client's call (raised on the calling thread; during SubmitFiles and a poll of many files also on its sessions' threads, one at a time).</summary>
    public sealed class GatewayEventArgs : EventArgs
    {
        public GatewayEventKind Kind { get; }
        /// <summary>The name, file or host the event is about (see GatewayEventKind / the header's GW_EVENT_*).</summary>
        public string Subject { get; }
        public string Detail { get; }
        public long Done { get; }
        public long Total { get; }
        internal GatewayEventArgs(GatewayEventKind kind, string subject, string detail, long done, long total)
        {
            Kind = kind; Subject = subject; Detail = detail; Done = done; Total = total;
        }
    }

    /// <summary>How a submit went: what was done, and the journal's record.</summary>
    public sealed class SubmitResult
    {
        public SubmitOutcome Outcome { get; }
        public Submission Submission { get; }
        /// <summary>The submission's name: its transaction id at the gateway.</summary>
        public string Name { get { return Submission.Name; } }
        internal SubmitResult(SubmitOutcome outcome, Submission submission) { Outcome = outcome; Submission = submission; }
    }

    /// <summary>One file of <see cref="GatewayClient.SubmitFiles"/>: its result, or the exception it met.</summary>
    public sealed class SubmitFilesItem
    {
        public string Path { get; }
        /// <summary>What was done; null when the file was not submitted (see <see cref="Error"/>).</summary>
        public SubmitResult Result { get; }
        /// <summary>Why the file was not submitted; null when it was.</summary>
        public GatewayException Error { get; }
        public bool Succeeded { get { return Error == null; } }
        internal SubmitFilesItem(string path, SubmitResult result, GatewayException error) { Path = path; Result = result; Error = error; }
    }

    /// <summary>The answer to a heartbeat.</summary>
    public sealed class PingResult
    {
        public Receipt Receipt { get; }
        public TimeSpan RoundTrip { get; }
        internal PingResult(Receipt receipt, TimeSpan roundTrip) { Receipt = receipt; RoundTrip = roundTrip; }
    }

    /// <summary>A connection to the gateway for one certificate, with its journal, which makes every file go
    /// exactly once. Thread-safe: calls from several threads are serialized inside.</summary>
    public sealed class GatewayClient : IDisposable
    {
        /// <summary>The longest submission name the library generates or accepts.</summary>
        public const int NameMax = 78;

        private readonly ClientHandle handle;
        private readonly object eventLock = new object();
        private EventHandler<GatewayEventArgs> events;

        private GatewayClient(ClientHandle h) { handle = h; }

        /// <summary>Reads <paramref name="profile"/> (null: the default) of a TOML config file (with the
        /// SKAT_GATEWAY_* variables applied), loads the certificate, opens the journal and logs in, so that a
        /// wrong certificate, password or address shows at once.</summary>
        public static GatewayClient FromConfig(string configPath, string profile = null)
        {
            ClientHandle h;
            return new GatewayClient(Native.Take(Native.gw_client_from_config(Utf8.Required(configPath, "configPath"), Utf8.In(profile, "profile"), out h), h));
        }

        /// <summary>As <see cref="FromConfig"/>, with settings from a <see cref="GatewayConfig"/>.</summary>
        public static GatewayClient Connect(GatewayConfig config)
        {
            if (config == null) throw new ArgumentNullException("config");
            ClientHandle h;
            return new GatewayClient(Native.Take(Native.gw_client_connect(config.H, out h), h));
        }

        /// <summary>Without logging in: the first call that needs the gateway connects (for programs that only
        /// read the journal, or must start while the gateway is unreachable).</summary>
        public static GatewayClient Open(GatewayConfig config)
        {
            if (config == null) throw new ArgumentNullException("config");
            ClientHandle h;
            return new GatewayClient(Native.Take(Native.gw_client_open(config.H, out h), h));
        }

        private ClientHandle H { get { return Live.Check(handle, this); } }

        /// <summary>Progress and milestones of this client's calls, raised on the calling thread before the call
        /// returns. A handler must not call this client (the call is refused); an exception it throws is caught
        /// (<see cref="Library.CallbackExceptions"/>).</summary>
        public event EventHandler<GatewayEventArgs> Events
        {
            add
            {
                lock (eventLock)
                {
                    if (events == null)
                    {
                        // Once made, the delegate stays with the handle until it is freed: a call on another
                        // thread may be about to invoke it.
                        if (handle.EventCallback == null) handle.EventCallback = OnEvent;
                        Native.Check(Native.gw_client_set_event_callback(H, handle.EventCallback, IntPtr.Zero));
                    }
                    events += value;
                }
            }
            remove
            {
                lock (eventLock)
                {
                    bool had = events != null;
                    events -= value;
                    if (had && events == null && !handle.IsClosed) Native.Check(Native.gw_client_set_event_callback(H, null, IntPtr.Zero));
                }
            }
        }

        private void OnEvent(IntPtr userdata, uint kind, IntPtr subject, IntPtr detail, ulong done, ulong total)
        {
            try
            {
                EventHandler<GatewayEventArgs> handler = events;
                if (handler != null)
                    handler(this, new GatewayEventArgs((GatewayEventKind)kind, Utf8.FromPointer(subject), Utf8.FromPointer(detail), (long)done, (long)total));
            }
            catch (Exception e)
            {
                Library.CallbackFailed(e);
            }
        }

        /// <summary>The gateway user name this client acts as.</summary>
        public string UserName { get { return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_client_username(H, b, l, out n)); } }
        /// <summary>Where <see cref="Poll"/> downloads to by default.</summary>
        public string InboxPath { get { return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_client_inbox(H, b, l, out n)); } }

        /// <summary>The services this certificate may use on the default gateway (or on <paramref name="gateway"/>).</summary>
        public IReadOnlyList<Service> Services(Gateway? gateway = null)
        {
            ServiceListHandle list;
            uint result = gateway.HasValue ? Native.gw_client_services_on(H, (uint)gateway.Value, out list) : Native.gw_client_services(H, out list);
            using (list = Native.Take(result, list)) return Service.ListFrom(list);
        }

        /// <summary>Submits the file under a new unique name, committed to the journal before the upload, and
        /// returns that name. Content already submitted to the service is not sent again (the earlier name comes
        /// back); an interrupted earlier upload of it is finished under its name (see <see cref="Submit"/>).</summary>
        public string SubmitFile(string service, string path)
        {
            byte[] name = new byte[NameMax + 1];
            UIntPtr n;
            Native.Check(Native.gw_client_submit_file(H, Utf8.Required(service, "service"), Utf8.Required(path, "path"), name, (UIntPtr)name.Length, out n));
            return System.Text.Encoding.UTF8.GetString(name, 0, (int)n.ToUInt64());
        }

        /// <summary>As <see cref="SubmitFile"/>, with the choices spelled out and saying what was done:
        /// <paramref name="name"/> (null: generated; a used one is refused with <see cref="FilenameReusedException"/>
        /// before anything is sent), <paramref name="prefix"/> (readable start of a generated name) and flags.</summary>
        public SubmitResult Submit(string service, string path, string name = null, string prefix = null, SubmitFlags flags = SubmitFlags.None)
        {
            SubmissionHandle s;
            uint outcome;
            uint result = Native.gw_client_submit_as(H, Utf8.Required(service, "service"), Utf8.Required(path, "path"), Utf8.In(name, "name"), Utf8.In(prefix, "prefix"), (uint)flags, out s, out outcome);
            using (s = Native.Take(result, s)) return new SubmitResult((SubmitOutcome)outcome, Skat.Gateway.Submission.From(s));
        }

        /// <summary>Submits several files over up to the config's sessions at once (<see cref="GatewayConfigBuilder.SetSessions"/>,
        /// default 4), each by the rules of <see cref="Submit"/> under a generated name; a content given twice is sent
        /// once. Every file is tried: one item per path, in order, with its result or the exception that file met
        /// (nothing is thrown for a file). The event handler may be called from the sessions' threads meanwhile,
        /// one call at a time.</summary>
        public IReadOnlyList<SubmitFilesItem> SubmitFiles(string service, IList<string> paths, string prefix = null, SubmitFlags flags = SubmitFlags.None)
        {
            if (paths == null) throw new ArgumentNullException("paths");
            int count = paths.Count;
            IntPtr[] native = new IntPtr[count];
            uint[] results = new uint[count];
            IntPtr[] records = new IntPtr[count];
            uint[] outcomes = new uint[count];
            uint first;
            string firstMessage;
            try
            {
                for (int i = 0; i < count; i++)
                {
                    byte[] path = Utf8.Required(paths[i], "paths[" + i + "]");
                    native[i] = Marshal.AllocHGlobal(path.Length);
                    Marshal.Copy(path, 0, native[i], path.Length);
                }
                first = Native.gw_client_submit_files(H, Utf8.Required(service, "service"), native, (UIntPtr)count, Utf8.In(prefix, "prefix"), (uint)flags, results, records, outcomes);
                firstMessage = first == Native.GW_OK ? null : GatewayException.FromLastError(first).Message;
            }
            finally
            {
                foreach (IntPtr p in native) if (p != IntPtr.Zero) Marshal.FreeHGlobal(p);
            }
            // A call refused as a whole (a bad argument) wrote no per-file results.
            if (first != Native.GW_OK && Array.TrueForAll(records, r => r == IntPtr.Zero) && Array.IndexOf(results, first) < 0)
                throw GatewayException.FromCode(first, firstMessage);
            List<SubmitFilesItem> items = new List<SubmitFilesItem>(count);
            bool firstSeen = false;
            for (int i = 0; i < count; i++)
            {
                if (results[i] == Native.GW_OK)
                {
                    using (SubmissionHandle s = SubmissionHandle.Adopt(records[i]))
                        items.Add(new SubmitFilesItem(paths[i], new SubmitResult((SubmitOutcome)outcomes[i], Skat.Gateway.Submission.From(s)), null));
                    continue;
                }
                string message = !firstSeen && results[i] == first ? firstMessage
                    : paths[i] + ": not submitted (" + Library.ResultText(results[i]) + "); submit it alone with Submit to see why (it is not sent twice)";
                firstSeen = firstSeen || results[i] == first;
                items.Add(new SubmitFilesItem(paths[i], null, GatewayException.FromCode(results[i], message)));
            }
            return items;
        }

        /// <summary>Submits bytes held in memory (a declaration generated in memory) by the same rules; the
        /// generated name ends in <paramref name="extension"/>. Empty data is refused unless SubmitFlags.AllowEmpty.</summary>
        public SubmitResult SubmitBytes(string service, byte[] data, string extension = "xml", string name = null, string prefix = null, SubmitFlags flags = SubmitFlags.None)
        {
            if (data == null) throw new ArgumentNullException("data");
            SubmissionHandle s;
            uint outcome;
            uint result = Native.gw_client_submit_bytes_as(H, Utf8.Required(service, "service"), data, (UIntPtr)data.Length, Utf8.In(extension, "extension"), Utf8.In(name, "name"), Utf8.In(prefix, "prefix"), (uint)flags, out s, out outcome);
            using (s = Native.Take(result, s)) return new SubmitResult((SubmitOutcome)outcome, Skat.Gateway.Submission.From(s));
        }

        /// <summary>Downloads everything new in out into <paramref name="inbox"/> (null: the profile's), atomically
        /// and recorded in the journal, applies the status files to their submissions, and only then deletes the
        /// files remotely. Files of other systems sharing the certificate stay in out.</summary>
        public void Poll(string inbox = null)
        {
            Native.Check(Native.gw_client_poll(H, Utf8.In(inbox, "inbox")));
        }

        /// <summary>As <see cref="Poll"/>, with flags, returning what the poll found and, from the journal, what
        /// needs attention now.</summary>
        public PollReport PollWithReport(string inbox = null, PollFlags flags = PollFlags.None)
        {
            PollReportHandle r;
            using (r = Native.Take(Native.gw_client_poll_report(H, Utf8.In(inbox, "inbox"), (uint)flags, out r), r)) return PollReport.From(r);
        }

        /// <summary>Polls every <paramref name="interval"/> until no submission waits for a status any more, or
        /// <paramref name="wait"/> has passed; returns everything those polls found.</summary>
        public PollReport PollUntilSettled(TimeSpan wait, TimeSpan interval, string inbox = null, PollFlags flags = PollFlags.None)
        {
            PollReportHandle r;
            uint result = Native.gw_client_poll_until_settled(H, Utf8.In(inbox, "inbox"), (uint)flags, GatewayConfigBuilder.Millis(wait, "wait"), GatewayConfigBuilder.Millis(interval, "interval"), out r);
            using (r = Native.Take(result, r)) return PollReport.From(r);
        }

        /// <summary>The state of submission <paramref name="name"/>, from the journal (no network).</summary>
        public SubmissionState State(string name)
        {
            uint state;
            Native.Check(Native.gw_client_state(H, Utf8.Required(name, "name"), out state));
            return Skat.Gateway.Submission.StateOf(state);
        }

        /// <summary>The journal's record of submission <paramref name="name"/> (no network).</summary>
        public Submission Submission(string name)
        {
            SubmissionHandle s;
            using (s = Native.Take(Native.gw_client_submission(H, Utf8.Required(name, "name"), out s), s)) return Skat.Gateway.Submission.From(s);
        }

        /// <summary>Every submission of this certificate in the journal, oldest first.</summary>
        public IReadOnlyList<Submission> Submissions() { return List(Native.gw_client_submissions); }
        /// <summary>Those still waiting for a status.</summary>
        public IReadOnlyList<Submission> Pending() { return List(Native.gw_client_pending); }
        /// <summary>Interrupted uploads no live process holds: submit the same file again to finish one, or close it.</summary>
        public IReadOnlyList<Submission> StaleUploads() { return List(Native.gw_client_stale_uploads); }
        /// <summary>Rejected submissions (status 0, or refused for good) nobody closed (acknowledged) yet.</summary>
        public IReadOnlyList<Submission> Rejected() { return List(Native.gw_client_rejected); }

        private delegate uint ListCall(ClientHandle client, out SubmissionListHandle list);
        private IReadOnlyList<Submission> List(ListCall call)
        {
            SubmissionListHandle list;
            using (list = Native.Take(call(H, out list), list)) return Skat.Gateway.Submission.ListFrom(list);
        }

        /// <summary>Closes submission <paramref name="name"/>: stops waiting for a status that will not come,
        /// abandons an interrupted upload that will not be finished, or acknowledges a rejection (it stays Failed).
        /// The time and <paramref name="reason"/> are kept in the journal.</summary>
        public Submission CloseSubmission(string name, string reason = null)
        {
            SubmissionHandle s;
            uint result = Native.gw_client_close_submission(H, Utf8.Required(name, "name"), Utf8.In(reason, "reason"), out s);
            using (s = Native.Take(result, s)) return Skat.Gateway.Submission.From(s);
        }

        /// <summary>Sends a heartbeat to FTPSGW.Heartbeat and polls until its status 1 arrives, at most <paramref name="timeout"/>.</summary>
        public PingResult Ping(TimeSpan timeout, string inbox = null)
        {
            ReceiptHandle r;
            ulong ms;
            uint result = Native.gw_client_ping(H, Utf8.In(inbox, "inbox"), GatewayConfigBuilder.Millis(timeout, "timeout"), out ms, out r);
            using (r = Native.Take(result, r)) return new PingResult(Receipt.From(r), TimeSpan.FromMilliseconds(ms));
        }

        /// <summary>Migration: the new gateway's password from the legacy gateway. It is a secret that a .NET
        /// string cannot wipe: prefer <see cref="SaveLoginInfo"/>, which never hands it to the program.</summary>
        public string FetchLoginInfo()
        {
            return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_client_fetch_login_info(H, b, l, out n), wipe: true);
        }

        /// <summary>Migration: writes the new gateway's password into <paramref name="path"/> (owner-only, atomically).</summary>
        public void SaveLoginInfo(string path, bool overwrite = false)
        {
            Native.Check(Native.gw_client_save_login_info(H, Utf8.Required(path, "path"), overwrite));
        }

        /// <summary>Logs out and frees the client (a call running on another thread finishes first).</summary>
        public void Dispose() { handle.Dispose(); }
    }

    // ==== snapshots: what calls return

    /// <summary>A status file recorded for a submission, and where the poll put it.</summary>
    public sealed class ReceiptFile
    {
        public string StatusFile { get; }
        /// <summary>0 error, 1 delivered, 2 accepted, 3 response exposed.</summary>
        public int Code { get; }
        /// <summary>Where the poll put it in the inbox ("" when not kept there).</summary>
        public string LocalPath { get; }
        public DateTimeOffset ReceivedAt { get; }
        internal ReceiptFile(string statusFile, int code, string localPath, DateTimeOffset receivedAt) { StatusFile = statusFile; Code = code; LocalPath = localPath; ReceivedAt = receivedAt; }
    }

    /// <summary>A response file the gateway exposed for a submission.</summary>
    public sealed class ResponseFile
    {
        public string RemoteName { get; }
        /// <summary>Where the poll put it ("" until fetched).</summary>
        public string LocalPath { get; }
        internal ResponseFile(string remoteName, string localPath) { RemoteName = remoteName; LocalPath = localPath; }
    }

    /// <summary>One submission as the journal recorded it when it was read.</summary>
    public sealed class Submission
    {
        public string Name { get; private set; }
        public string Service { get; private set; }
        public Gateway Gateway { get; private set; }
        public SubmissionState State { get; private set; }
        /// <summary>The file it was submitted from ("" for bytes).</summary>
        public string LocalPath { get; private set; }
        public long? Size { get; private set; }
        public string Sha256 { get; private set; }
        public int Attempts { get; private set; }
        public DateTimeOffset CreatedAt { get; private set; }
        public DateTimeOffset UpdatedAt { get; private set; }
        public DateTimeOffset? UploadStartedAt { get; private set; }
        public DateTimeOffset? UploadedAt { get; private set; }
        public DateTimeOffset? DeliveredAt { get; private set; }
        public DateTimeOffset? AcceptedAt { get; private set; }
        public DateTimeOffset? RespondedAt { get; private set; }
        public DateTimeOffset? FailedAt { get; private set; }
        public DateTimeOffset? OverdueAt { get; private set; }
        public DateTimeOffset? ClosedAt { get; private set; }
        /// <summary>When it becomes overdue without status 2.</summary>
        public DateTimeOffset? Deadline { get; private set; }
        /// <summary>The backend's id (SKATTransactionId), "" until a status file gave one.</summary>
        public string SkatTransactionId { get; private set; }
        /// <summary>The gateway's error code for a failed submission, e.g. FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION; "" otherwise.</summary>
        public string ErrorCode { get; private set; }
        public string ErrorMessage { get; private set; }
        public string ErrorResolution { get; private set; }
        public string CloseReason { get; private set; }
        public IReadOnlyList<ReceiptFile> Receipts { get; private set; }
        public IReadOnlyList<ResponseFile> ResponseFiles { get; private set; }

        public override string ToString() { return Name + " " + State; }

        internal static SubmissionState StateOf(uint code)
        {
            if (code < 1 || code > 9) throw new GatewayInternalException("the library reported the unknown state " + code, 199, null, null, null);
            return (SubmissionState)(code - 1); // the C numbers start at 1; the contract's enum at 0
        }

        internal static Submission From(SubmissionHandle s)
        {
            var r = new Submission();
            uint u;
            ulong size;
            r.Name = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_submission_name(s, b, l, out n));
            r.Service = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_submission_service(s, b, l, out n));
            Native.Check(Native.gw_submission_gateway(s, out u)); r.Gateway = (Gateway)u;
            Native.Check(Native.gw_submission_state(s, out u)); r.State = StateOf(u);
            r.LocalPath = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_submission_local_path(s, b, l, out n));
            Native.Check(Native.gw_submission_size(s, out size)); r.Size = size == ulong.MaxValue ? (long?)null : (long)size;
            r.Sha256 = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_submission_sha256(s, b, l, out n));
            Native.Check(Native.gw_submission_attempts(s, out u)); r.Attempts = (int)u;
            r.CreatedAt = Time.At(s, 1).Value;
            r.UpdatedAt = Time.At(s, 2).Value;
            r.UploadStartedAt = Time.At(s, 3);
            r.UploadedAt = Time.At(s, 4);
            r.DeliveredAt = Time.At(s, 5);
            r.AcceptedAt = Time.At(s, 6);
            r.RespondedAt = Time.At(s, 7);
            r.FailedAt = Time.At(s, 8);
            r.OverdueAt = Time.At(s, 9);
            r.ClosedAt = Time.At(s, 10);
            r.Deadline = Time.At(s, 11);
            r.SkatTransactionId = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_submission_skat_transaction_id(s, b, l, out n));
            r.ErrorCode = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_submission_error_code(s, b, l, out n));
            r.ErrorMessage = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_submission_error_message(s, b, l, out n));
            r.ErrorResolution = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_submission_error_resolution(s, b, l, out n));
            r.CloseReason = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_submission_close_reason(s, b, l, out n));
            UIntPtr count;
            Native.Check(Native.gw_submission_receipts_len(s, out count));
            var receipts = new List<ReceiptFile>();
            for (ulong i = 0; i < count.ToUInt64(); i++)
            {
                UIntPtr index = (UIntPtr)i;
                uint code;
                long ms;
                Native.Check(Native.gw_submission_receipt_code(s, index, out code));
                Native.Check(Native.gw_submission_receipt_time(s, index, out ms));
                receipts.Add(new ReceiptFile(
                    Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_submission_receipt(s, index, b, l, out n)),
                    (int)code,
                    Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_submission_receipt_local_path(s, index, b, l, out n)),
                    DateTimeOffset.FromUnixTimeMilliseconds(ms)));
            }
            r.Receipts = receipts.AsReadOnly();
            Native.Check(Native.gw_submission_response_files_len(s, out count));
            var responses = new List<ResponseFile>();
            for (ulong i = 0; i < count.ToUInt64(); i++)
            {
                UIntPtr index = (UIntPtr)i;
                responses.Add(new ResponseFile(
                    Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_submission_response_file(s, index, b, l, out n)),
                    Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_submission_response_file_local_path(s, index, b, l, out n))));
            }
            r.ResponseFiles = responses.AsReadOnly();
            return r;
        }

        internal static IReadOnlyList<Submission> ListFrom(SubmissionListHandle list)
        {
            UIntPtr len;
            Native.Check(Native.gw_submission_list_len(list, out len));
            var items = new List<Submission>();
            for (ulong i = 0; i < len.ToUInt64(); i++)
            {
                SubmissionHandle s;
                using (s = Native.Take(Native.gw_submission_list_get(list, (UIntPtr)i, out s), s)) items.Add(From(s));
            }
            return items.AsReadOnly();
        }
    }

    /// <summary>An error a status 0 file reports.</summary>
    public sealed class ReceiptError
    {
        public string Code { get; }
        public string Message { get; }
        public string Resolution { get; }
        internal ReceiptError(string code, string message, string resolution) { Code = code; Message = message; Resolution = resolution; }
    }

    /// <summary>A status file (receipt) as parsed, with what applying it did.</summary>
    public sealed class Receipt
    {
        public string StatusFile { get; private set; }
        public string Service { get; private set; }
        /// <summary>The name the file was uploaded under.</summary>
        public string TransactionId { get; private set; }
        /// <summary>0 error, 1 delivered, 2 accepted, 3 a response file is waiting.</summary>
        public int Code { get; private set; }
        public string SkatTransactionId { get; private set; }
        /// <summary>As written: YYYYMMDDhhmmss, the gateway's local time.</summary>
        public string Timestamp { get; private set; }
        public string StatusText { get; private set; }
        public string RemotePath { get; private set; }
        public IReadOnlyList<string> ResponseFiles { get; private set; }
        public IReadOnlyList<ReceiptError> Errors { get; private set; }
        /// <summary>Where the poll put it in the inbox ("" for a ping's receipt).</summary>
        public string LocalPath { get; private set; }
        public Gateway Gateway { get; private set; }
        public ReceiptOutcome Outcome { get; private set; }
        /// <summary>The submission's state after it, for Applied and ReuseAfterRetryIgnored.</summary>
        public SubmissionState? StateAfter { get; private set; }
        /// <summary>Whether it belongs to one of this journal's submissions (false for other systems').</summary>
        public bool IsOurs { get; private set; }

        public override string ToString() { return StatusFile + " (" + Outcome + ")"; }

        internal static Receipt From(ReceiptHandle h)
        {
            var r = new Receipt();
            uint u, state;
            bool ours;
            r.StatusFile = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_receipt_status_file(h, b, l, out n));
            r.Service = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_receipt_service(h, b, l, out n));
            r.TransactionId = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_receipt_transaction_id(h, b, l, out n));
            Native.Check(Native.gw_receipt_code(h, out u)); r.Code = (int)u;
            r.SkatTransactionId = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_receipt_skat_transaction_id(h, b, l, out n));
            r.Timestamp = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_receipt_timestamp(h, b, l, out n));
            r.StatusText = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_receipt_status_text(h, b, l, out n));
            r.RemotePath = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_receipt_remote_path(h, b, l, out n));
            r.LocalPath = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_receipt_local_path(h, b, l, out n));
            Native.Check(Native.gw_receipt_gateway(h, out u)); r.Gateway = (Gateway)u;
            Native.Check(Native.gw_receipt_outcome(h, out u, out state));
            r.Outcome = (ReceiptOutcome)u;
            r.StateAfter = state == 0 ? (SubmissionState?)null : Submission.StateOf(state);
            Native.Check(Native.gw_receipt_is_ours(h, out ours)); r.IsOurs = ours;
            UIntPtr count;
            Native.Check(Native.gw_receipt_response_files_len(h, out count));
            var responses = new List<string>();
            for (ulong i = 0; i < count.ToUInt64(); i++)
            {
                UIntPtr index = (UIntPtr)i;
                responses.Add(Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_receipt_response_file(h, index, b, l, out n)));
            }
            r.ResponseFiles = responses.AsReadOnly();
            Native.Check(Native.gw_receipt_errors_len(h, out count));
            var errors = new List<ReceiptError>();
            for (ulong i = 0; i < count.ToUInt64(); i++)
            {
                UIntPtr index = (UIntPtr)i;
                errors.Add(new ReceiptError(
                    Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_receipt_error_code(h, index, b, l, out n)),
                    Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_receipt_error_message(h, index, b, l, out n)),
                    Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_receipt_error_resolution(h, index, b, l, out n))));
            }
            r.Errors = errors.AsReadOnly();
            return r;
        }
    }

    /// <summary>A file fetched from out into the inbox.</summary>
    public sealed class FetchedFile
    {
        public string RemoteName { get; private set; }
        public string LocalPath { get; private set; }
        public long Size { get; private set; }
        public string Sha256 { get; private set; }
        /// <summary>False when the journal had it already (so it was not placed in the inbox again).</summary>
        public bool IsNew { get; private set; }
        public bool DeletedRemote { get; private set; }
        public Gateway Gateway { get; private set; }

        internal static FetchedFile From(FetchedFileHandle h)
        {
            var f = new FetchedFile();
            ulong size;
            bool flag;
            uint u;
            f.RemoteName = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_fetched_file_remote_name(h, b, l, out n));
            f.LocalPath = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_fetched_file_local_path(h, b, l, out n));
            Native.Check(Native.gw_fetched_file_size(h, out size)); f.Size = (long)size;
            f.Sha256 = Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_fetched_file_sha256(h, b, l, out n));
            Native.Check(Native.gw_fetched_file_is_new(h, out flag)); f.IsNew = flag;
            Native.Check(Native.gw_fetched_file_deleted_remote(h, out flag)); f.DeletedRemote = flag;
            Native.Check(Native.gw_fetched_file_gateway(h, out u)); f.Gateway = (Gateway)u;
            return f;
        }
    }

    /// <summary>A file of out that was not fetched (its name cannot be a file in the inbox), or a status file that
    /// could not be read (then <see cref="LocalPath"/> says where it was kept).</summary>
    public sealed class ProblemFile
    {
        public string Name { get; }
        public string Reason { get; }
        public Gateway Gateway { get; }
        public string LocalPath { get; }
        internal ProblemFile(string name, string reason, Gateway gateway, string localPath) { Name = name; Reason = reason; Gateway = gateway; LocalPath = localPath; }
    }

    /// <summary>What a poll found, and, from the journal after it, what needs attention now.</summary>
    public sealed class PollReport
    {
        /// <summary>Every file fetched from out.</summary>
        public IReadOnlyList<FetchedFile> Files { get; private set; }
        /// <summary>Status files applied to this journal's submissions.</summary>
        public IReadOnlyList<Receipt> Receipts { get; private set; }
        /// <summary>Status files of other systems (or names this journal never sent), left in out.</summary>
        public IReadOnlyList<Receipt> UnknownReceipts { get; private set; }
        /// <summary>Other files that are no response of this journal's submissions, left in out.</summary>
        public IReadOnlyList<FetchedFile> UnknownFiles { get; private set; }
        /// <summary>Files named like status files that could not be read.</summary>
        public IReadOnlyList<ProblemFile> Invalid { get; private set; }
        /// <summary>Files of out whose names cannot be inbox files: not fetched, left in out.</summary>
        public IReadOnlyList<ProblemFile> Skipped { get; private set; }
        /// <summary>Names of the submissions that passed their deadline during this poll.</summary>
        public IReadOnlyList<string> NewlyOverdue { get; private set; }
        /// <summary>Every submission rejected and not closed (acknowledged).</summary>
        public IReadOnlyList<Submission> Rejected { get; private set; }
        /// <summary>Every overdue submission.</summary>
        public IReadOnlyList<Submission> Overdue { get; private set; }
        /// <summary>Every interrupted upload no live process holds.</summary>
        public IReadOnlyList<Submission> Stale { get; private set; }
        /// <summary>Names of the submissions still waiting for a status.</summary>
        public IReadOnlyList<string> Pending { get; private set; }

        private const uint Files_ = 1, Receipts_ = 2, UnknownReceipts_ = 3, UnknownFiles_ = 4, Invalid_ = 5, Overdue_ = 6,
            Stale_ = 7, Rejected_ = 8, Pending_ = 9, Skipped_ = 10, NewlyOverdue_ = 11;

        internal static PollReport From(PollReportHandle h)
        {
            var p = new PollReport();
            p.Files = Items(h, Files_, i => { FetchedFileHandle f; using (f = Native.Take(Native.gw_poll_report_file(h, Files_, i, out f), f)) return FetchedFile.From(f); });
            p.UnknownFiles = Items(h, UnknownFiles_, i => { FetchedFileHandle f; using (f = Native.Take(Native.gw_poll_report_file(h, UnknownFiles_, i, out f), f)) return FetchedFile.From(f); });
            p.Receipts = Items(h, Receipts_, i => { ReceiptHandle r; using (r = Native.Take(Native.gw_poll_report_receipt(h, Receipts_, i, out r), r)) return Receipt.From(r); });
            p.UnknownReceipts = Items(h, UnknownReceipts_, i => { ReceiptHandle r; using (r = Native.Take(Native.gw_poll_report_receipt(h, UnknownReceipts_, i, out r), r)) return Receipt.From(r); });
            p.Invalid = Items(h, Invalid_, i => Problem(h, Invalid_, i, Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_poll_report_invalid_path(h, i, b, l, out n))));
            p.Skipped = Items(h, Skipped_, i => Problem(h, Skipped_, i, ""));
            p.NewlyOverdue = Items(h, NewlyOverdue_, i => Name(h, NewlyOverdue_, i));
            p.Pending = Items(h, Pending_, i => Name(h, Pending_, i));
            p.Rejected = Items(h, Rejected_, i => SubmissionAt(h, Rejected_, i));
            p.Overdue = Items(h, Overdue_, i => SubmissionAt(h, Overdue_, i));
            p.Stale = Items(h, Stale_, i => SubmissionAt(h, Stale_, i));
            return p;
        }

        private static IReadOnlyList<T> Items<T>(PollReportHandle h, uint which, Func<UIntPtr, T> item)
        {
            UIntPtr len;
            Native.Check(Native.gw_poll_report_len(h, which, out len));
            var items = new List<T>();
            for (ulong i = 0; i < len.ToUInt64(); i++) items.Add(item((UIntPtr)i));
            return items.AsReadOnly();
        }

        private static string Name(PollReportHandle h, uint which, UIntPtr i)
        {
            return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_poll_report_name(h, which, i, b, l, out n));
        }

        private static Submission SubmissionAt(PollReportHandle h, uint which, UIntPtr i)
        {
            SubmissionHandle s;
            using (s = Native.Take(Native.gw_poll_report_submission(h, which, i, out s), s)) return Submission.From(s);
        }

        private static ProblemFile Problem(PollReportHandle h, uint which, UIntPtr i, string localPath)
        {
            uint g;
            Native.Check(Native.gw_poll_report_gateway(h, which, i, out g));
            return new ProblemFile(Name(h, which, i), Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_poll_report_reason(h, which, i, b, l, out n)), (Gateway)g, localPath);
        }
    }

    /// <summary>A service (folder) a certificate may use.</summary>
    public sealed class Service
    {
        public string Name { get; }
        public GatewaySystem System { get; }
        public TransferType TransferType { get; }
        /// <summary>Whether the library's catalogue knows it (false for services only the gateway showed).</summary>
        public bool Known { get; }
        internal Service(string name, GatewaySystem system, TransferType transfer, bool known) { Name = name; System = system; TransferType = transfer; Known = known; }
        public override string ToString() { return Name; }

        internal static IReadOnlyList<Service> ListFrom(ServiceListHandle list)
        {
            UIntPtr len;
            Native.Check(Native.gw_service_list_len(list, out len));
            var items = new List<Service>();
            for (ulong i = 0; i < len.ToUInt64(); i++)
            {
                UIntPtr index = (UIntPtr)i;
                uint system, transfer;
                bool known;
                Native.Check(Native.gw_service_list_system(list, index, out system));
                Native.Check(Native.gw_service_list_transfer_type(list, index, out transfer));
                Native.Check(Native.gw_service_list_known(list, index, out known));
                items.Add(new Service(Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_service_list_name(list, index, b, l, out n)),
                    (GatewaySystem)system, (TransferType)transfer, known));
            }
            return items.AsReadOnly();
        }
    }

    /// <summary>An entry of a remote folder.</summary>
    public sealed class RemoteEntry
    {
        public string Name { get; }
        public bool IsDirectory { get; }
        /// <summary>Null for a folder, or when the listing does not tell.</summary>
        public long? Size { get; }
        internal RemoteEntry(string name, bool isDirectory, long? size) { Name = name; IsDirectory = isDirectory; Size = size; }
        public override string ToString() { return IsDirectory ? Name + "/" : Name; }
    }

    // ==== the low-level session

    /// <summary>Called with the bytes transferred so far and the total (0 when unknown).</summary>
    public delegate void ProgressHandler(long done, long total);

    /// <summary>One logged-in FTPS session (TLS 1.2, client certificate). It keeps no journal: a file put twice is
    /// sent twice; use <see cref="GatewayClient"/> for submissions.</summary>
    public sealed class GatewaySession : IDisposable
    {
        private readonly SessionHandle handle;
        private GatewaySession(SessionHandle h) { handle = h; }

        /// <summary>Connects to one gateway of <paramref name="config"/> and logs in; <paramref name="identity"/>
        /// null: the config's certificate file.</summary>
        public static GatewaySession Connect(GatewayConfig config, Gateway gateway = Gateway.New, Identity identity = null)
        {
            if (config == null) throw new ArgumentNullException("config");
            SessionHandle h;
            uint result = identity == null
                ? Native.gw_session_connect(config.H, IntPtr.Zero, (uint)gateway, out h)
                : Native.gw_session_connect(config.H, Live.Check(identity.Handle, identity), (uint)gateway, out h);
            return new GatewaySession(Native.Take(result, h));
        }

        private SessionHandle H { get { return Live.Check(handle, this); } }

        public string UserName { get { return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_session_username(H, b, l, out n)); } }

        /// <summary>The entries of remote folder <paramref name="path"/> (null: the login folder).</summary>
        public IReadOnlyList<RemoteEntry> List(string path = null)
        {
            EntryListHandle list;
            using (list = Native.Take(Native.gw_session_list(H, Utf8.In(path, "path"), out list), list))
            {
                UIntPtr len;
                Native.Check(Native.gw_entry_list_len(list, out len));
                var items = new List<RemoteEntry>();
                for (ulong i = 0; i < len.ToUInt64(); i++)
                {
                    UIntPtr index = (UIntPtr)i;
                    bool dir;
                    ulong size;
                    Native.Check(Native.gw_entry_list_is_dir(list, index, out dir));
                    Native.Check(Native.gw_entry_list_size(list, index, out size));
                    items.Add(new RemoteEntry(Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_entry_list_name(list, index, b, l, out n)), dir,
                        size == ulong.MaxValue ? (long?)null : (long)size));
                }
                return items.AsReadOnly();
            }
        }

        /// <summary>Uploads a local file to <paramref name="remote"/> (e.g. "FTPSGW.Heartbeat/ping.xml"), streaming;
        /// returns the bytes sent.</summary>
        public long PutFile(string localPath, string remote, TransferType transfer = TransferType.Binary, ProgressHandler progress = null)
        {
            Native.ProgressCallback callback = Progress(progress);
            ulong bytes;
            uint result = Native.gw_session_put_file(H, Utf8.Required(localPath, "localPath"), Utf8.Required(remote, "remote"), (uint)transfer, callback, IntPtr.Zero, out bytes);
            GC.KeepAlive(callback);
            Native.Check(result);
            return (long)bytes;
        }

        public void PutBytes(byte[] data, string remote, TransferType transfer = TransferType.Binary)
        {
            if (data == null) throw new ArgumentNullException("data");
            Native.Check(Native.gw_session_put_bytes(H, data, (UIntPtr)data.Length, Utf8.Required(remote, "remote"), (uint)transfer));
        }

        /// <summary>Downloads <paramref name="remote"/> to a local file, which appears whole or not at all; with
        /// <paramref name="synced"/> it is on disk when this returns. Returns the bytes written.</summary>
        public long GetFile(string remote, string localPath, TransferType transfer = TransferType.Binary, bool synced = false, ProgressHandler progress = null)
        {
            Native.ProgressCallback callback = Progress(progress);
            ulong bytes;
            uint result = Native.gw_session_get_file(H, Utf8.Required(remote, "remote"), Utf8.Required(localPath, "localPath"), (uint)transfer, synced, callback, IntPtr.Zero, out bytes);
            GC.KeepAlive(callback);
            Native.Check(result);
            return (long)bytes;
        }

        public void Delete(string remote) { Native.Check(Native.gw_session_delete(H, Utf8.Required(remote, "remote"))); }

        public long Size(string remote)
        {
            ulong size;
            Native.Check(Native.gw_session_size(H, Utf8.Required(remote, "remote"), out size));
            return (long)size;
        }

        /// <summary>Ends the session cleanly (QUIT); it is closed either way.</summary>
        public void Quit() { Native.Check(Native.gw_session_quit(H)); }

        public void Dispose() { handle.Dispose(); }

        private static Native.ProgressCallback Progress(ProgressHandler progress)
        {
            if (progress == null) return null;
            return (IntPtr userdata, ulong done, ulong total) =>
            {
                try { progress((long)done, (long)total); }
                catch (Exception e) { Library.CallbackFailed(e); }
            };
        }
    }

    // ==== the simulator

    /// <summary>A gateway simulator running in this process (new and legacy gateway on loopback, with its own
    /// test PKI, client certificate and password, and a client.toml profile for it), for tests:
    /// <code>using (var sim = Simulator.Start()) using (var client = GatewayClient.FromConfig(sim.ConfigPath)) { ... }</code></summary>
    public sealed class Simulator : IDisposable
    {
        private readonly SimulatorHandle handle;
        private readonly string temporary; // a folder Start() made, removed on Dispose

        private Simulator(SimulatorHandle h, string temporary) { handle = h; this.temporary = temporary; }

        /// <summary>Starts in a new temporary folder, removed again on Dispose.</summary>
        public static Simulator Start()
        {
            string dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "skat-gateway-sim-" + Guid.NewGuid().ToString("N"));
            System.IO.Directory.CreateDirectory(dir);
            try
            {
                SimulatorHandle h;
                return new Simulator(Native.Take(Native.gw_simulator_start(Utf8.Required(dir, "directory"), out h), h), dir);
            }
            catch
            {
                TryDelete(dir);
                throw;
            }
        }

        /// <summary>Starts in <paramref name="directory"/> (created if missing; its PKI and passwords are made on the
        /// first start and reused after) on free loopback ports.</summary>
        public static Simulator Start(string directory)
        {
            SimulatorHandle h;
            return new Simulator(Native.Take(Native.gw_simulator_start(Utf8.Required(directory, "directory"), out h), h), null);
        }

        /// <summary>As <see cref="Start(string)"/>, on given ports (0: a free one) and passive data ports.</summary>
        public static Simulator Start(string directory, int port, int legacyPort, int dataFirst, int dataLast)
        {
            SimulatorHandle h;
            uint result = Native.gw_simulator_start_with_ports(Utf8.Required(directory, "directory"), checked((ushort)port), checked((ushort)legacyPort), checked((ushort)dataFirst), checked((ushort)dataLast), out h);
            return new Simulator(Native.Take(result, h), null);
        }

        private SimulatorHandle H { get { return Live.Check(handle, this); } }

        /// <summary>The path of the simulator's client.toml (profile "sim"): give it to GatewayClient.FromConfig.</summary>
        public string ConfigPath { get { return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_simulator_client_config(H, b, l, out n)); } }
        /// <summary>The simulator's folder (absolute).</summary>
        public string DirectoryPath { get { return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_simulator_dir(H, b, l, out n)); } }
        /// <summary>The gateway user name of its client certificate.</summary>
        public string UserName { get { return Utf8.Out((byte[] b, UIntPtr l, out UIntPtr n) => Native.gw_simulator_username(H, b, l, out n)); } }
        public int Port { get { ushort p; Native.Check(Native.gw_simulator_port(H, out p)); return p; } }
        public int LegacyPort { get { ushort p; Native.Check(Native.gw_simulator_legacy_port(H, out p)); return p; } }
        /// <summary>Takes the simulated backends down (no status files, as when the agency's backend is down) or up.</summary>
        public void SetBackendAvailable(bool available) { Native.Check(Native.gw_simulator_set_backend_available(H, available)); }
        /// <summary>Stops both gateways; the object still answers for its folder and ports.</summary>
        public void Stop() { Native.Check(Native.gw_simulator_stop(H)); }

        public void Dispose()
        {
            handle.Dispose();
            if (temporary != null) TryDelete(temporary);
        }

        private static void TryDelete(string dir)
        {
            try { System.IO.Directory.Delete(dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    // ==== helpers

    internal static class Live
    {
        /// <summary>The handle, or an ObjectDisposedException naming the object when it was disposed.</summary>
        internal static T Check<T>(T handle, object owner) where T : SafeHandle
        {
            if (handle.IsClosed || handle.IsInvalid) throw new ObjectDisposedException(owner.GetType().FullName, "the " + owner.GetType().Name + " was disposed; create a new one");
            return handle;
        }
    }

    internal static class Time
    {
        internal static DateTimeOffset FromSeconds(long seconds) { return DateTimeOffset.FromUnixTimeSeconds(seconds); }

        internal static DateTimeOffset? At(SubmissionHandle s, uint which)
        {
            long ms;
            Native.Check(Native.gw_submission_time(s, which, out ms));
            return ms == 0 ? (DateTimeOffset?)null : DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }
    }
}
