// Native.cs: the C ABI of libgateway (include/gateway.h) as P/Invoke declarations, the SafeHandles that own
// its handles, and the two conversions every call needs: UTF-8 strings in and out, and gw_result codes into
// exceptions. Nothing here is public: Gateway.cs builds the library's API on it.
//
// Written for every runtime at once: .NET Framework 4.6.1+, Mono and .NET 6+ (netstandard2.0), and C# 7.2
// (Mono's mcs). So: strings cross as UTF-8 byte arrays we fill and decode ourselves (a plain `string`
// parameter is ANSI on .NET Framework, and Marshal.PtrToStringUTF8 does not exist there), DllImport rather
// than LibraryImport or NativeLibrary, and no C# 8.
using System;
using System.Runtime.ConstrainedExecution;
using System.Runtime.InteropServices;
using System.Text;

namespace Skat.Gateway
{
    // ---- handles: one SafeHandle per C handle type; ReleaseHandle is the C type's _free.
    // The runtime keeps a SafeHandle alive, and its release waiting, while a call that was passed it runs:
    // a Dispose on one thread during a call on another frees the C handle only when that call returns.

    internal abstract class GatewayHandle : SafeHandle
    {
        protected GatewayHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
    }

    internal sealed class IdentityHandle : GatewayHandle
    {
        [ReliabilityContract(Consistency.WillNotCorruptState, Cer.Success)]
        protected override bool ReleaseHandle() { Native.gw_identity_free(handle); return true; }
    }

    internal sealed class ConfigBuilderHandle : GatewayHandle
    {
        [ReliabilityContract(Consistency.WillNotCorruptState, Cer.Success)]
        protected override bool ReleaseHandle() { Native.gw_config_builder_free(handle); return true; }
    }

    internal sealed class ConfigHandle : GatewayHandle
    {
        [ReliabilityContract(Consistency.WillNotCorruptState, Cer.Success)]
        protected override bool ReleaseHandle() { Native.gw_config_free(handle); return true; }
    }

    internal sealed class ClientHandle : GatewayHandle
    {
        // The event callback registered with this client. Kept here, not on the GatewayClient, because the
        // handle is what the runtime keeps alive during every call that could invoke it.
        internal Native.EventCallback EventCallback;

        [ReliabilityContract(Consistency.WillNotCorruptState, Cer.Success)]
        protected override bool ReleaseHandle()
        {
            // From a finalizer the delegate may be collected already: the library must not call it while it
            // logs out.
            if (EventCallback != null) Native.gw_client_set_event_callback(handle, null, IntPtr.Zero);
            Native.gw_client_free(handle);
            return true;
        }
    }

    internal sealed class SessionHandle : GatewayHandle
    {
        [ReliabilityContract(Consistency.WillNotCorruptState, Cer.Success)]
        protected override bool ReleaseHandle() { Native.gw_session_free(handle); return true; }
    }

    internal sealed class SimulatorHandle : GatewayHandle
    {
        [ReliabilityContract(Consistency.WillNotCorruptState, Cer.Success)]
        protected override bool ReleaseHandle() { Native.gw_simulator_free(handle); return true; }
    }

    internal sealed class SubmissionHandle : GatewayHandle
    {
        [ReliabilityContract(Consistency.WillNotCorruptState, Cer.Success)]
        protected override bool ReleaseHandle() { Native.gw_submission_free(handle); return true; }

        /// <summary>Takes ownership of a handle the library wrote into an array (gw_client_submit_files).</summary>
        internal static SubmissionHandle Adopt(IntPtr raw)
        {
            SubmissionHandle h = new SubmissionHandle();
            h.SetHandle(raw);
            return h;
        }
    }

    internal sealed class SubmissionListHandle : GatewayHandle
    {
        [ReliabilityContract(Consistency.WillNotCorruptState, Cer.Success)]
        protected override bool ReleaseHandle() { Native.gw_submission_list_free(handle); return true; }
    }

    internal sealed class ReceiptHandle : GatewayHandle
    {
        [ReliabilityContract(Consistency.WillNotCorruptState, Cer.Success)]
        protected override bool ReleaseHandle() { Native.gw_receipt_free(handle); return true; }
    }

    internal sealed class FetchedFileHandle : GatewayHandle
    {
        [ReliabilityContract(Consistency.WillNotCorruptState, Cer.Success)]
        protected override bool ReleaseHandle() { Native.gw_fetched_file_free(handle); return true; }
    }

    internal sealed class PollReportHandle : GatewayHandle
    {
        [ReliabilityContract(Consistency.WillNotCorruptState, Cer.Success)]
        protected override bool ReleaseHandle() { Native.gw_poll_report_free(handle); return true; }
    }

    internal sealed class ServiceListHandle : GatewayHandle
    {
        [ReliabilityContract(Consistency.WillNotCorruptState, Cer.Success)]
        protected override bool ReleaseHandle() { Native.gw_service_list_free(handle); return true; }
    }

    internal sealed class EntryListHandle : GatewayHandle
    {
        [ReliabilityContract(Consistency.WillNotCorruptState, Cer.Success)]
        protected override bool ReleaseHandle() { Native.gw_entry_list_free(handle); return true; }
    }

    /// <summary>The C functions. Strings in are NUL-terminated UTF-8 byte arrays (<see cref="Utf8.In"/>);
    /// strings out follow the header's one rule (<see cref="Utf8.Out"/>).</summary>
    internal static class Native
    {
        private const string Lib = "gateway"; // libgateway.so on Linux, gateway.dll on Windows
        private const CallingConvention Cdecl = CallingConvention.Cdecl;

        internal const uint GW_OK = 0;
        internal const uint GW_ERR_BUFFER_TOO_SMALL = 2;

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void EventCallback(IntPtr userdata, uint kind, IntPtr subject, IntPtr detail, ulong done, ulong total);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void ProgressCallback(IntPtr userdata, ulong done, ulong total);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void LogCallback(IntPtr userdata, uint level, IntPtr target, IntPtr message);

        /// <summary>A string-rule function bound to its object: (buf, len, out n) -> gw_result.</summary>
        internal delegate uint StringOut(byte[] buf, UIntPtr len, out UIntPtr n);

        // ---- results, errors, version
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern void gw_result_text(uint result, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_last_error(byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_last_error_code();
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_last_error_server_reply(out uint code, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern IntPtr gw_version();
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern UIntPtr gw_handles_live();
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_set_log_callback(LogCallback callback, IntPtr userdata, uint maxLevel);

        // ---- identity
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_identity_from_file(byte[] path, byte[] password, out IdentityHandle identity);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_identity_from_pem_files(byte[] cert, byte[] key, out IdentityHandle identity);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_identity_from_pkcs12(byte[] data, UIntPtr len, byte[] password, out IdentityHandle identity);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_identity_from_pem(byte[] cert, UIntPtr certLen, byte[] key, UIntPtr keyLen, out IdentityHandle identity);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_identity_username(IdentityHandle identity, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_identity_kind(IdentityHandle identity, out uint kind);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_identity_kind_name(IdentityHandle identity, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_identity_cvr(IdentityHandle identity, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_identity_id(IdentityHandle identity, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_identity_subject(IdentityHandle identity, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_identity_issuer(IdentityHandle identity, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_identity_serial(IdentityHandle identity, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_identity_fingerprint(IdentityHandle identity, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_identity_not_before(IdentityHandle identity, out long seconds);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_identity_not_after(IdentityHandle identity, out long seconds);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_identity_validity(IdentityHandle identity, out uint validity, out long daysLeft);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_identity_check_valid(IdentityHandle identity);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_identity_public_pem(IdentityHandle identity, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_identity_export_public_pem(IdentityHandle identity, byte[] dir, byte[] username, [MarshalAs(UnmanagedType.I1)] bool overwrite, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern void gw_identity_free(IntPtr identity);

        // ---- configuration
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_new(out ConfigBuilderHandle builder);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_from_file(byte[] path, byte[] profile, out ConfigBuilderHandle builder);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_build(ConfigBuilderHandle builder, out ConfigHandle config);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_set_environment(ConfigBuilderHandle builder, uint environment);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_set_address(ConfigBuilderHandle builder, uint gateway, byte[] host, ushort port);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_set_data_ports(ConfigBuilderHandle builder, uint gateway, ushort first, ushort last);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_set_certificate(ConfigBuilderHandle builder, byte[] path, byte[] keyPath);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_set_certificate_password(ConfigBuilderHandle builder, byte[] password, UIntPtr len);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_set_certificate_password_file(ConfigBuilderHandle builder, byte[] path);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_set_password(ConfigBuilderHandle builder, byte[] password, UIntPtr len);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_set_password_file(ConfigBuilderHandle builder, byte[] path);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_set_username(ConfigBuilderHandle builder, byte[] username);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_set_ca_file(ConfigBuilderHandle builder, byte[] path);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_set_system_roots(ConfigBuilderHandle builder, [MarshalAs(UnmanagedType.I1)] bool systemRoots);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_set_journal(ConfigBuilderHandle builder, byte[] path);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_set_inbox(ConfigBuilderHandle builder, byte[] path);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_set_deadline_ms(ConfigBuilderHandle builder, ulong deadlineMs);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_set_timeouts(ConfigBuilderHandle builder, ulong connectMs, ulong ioMs);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_set_default_gateway(ConfigBuilderHandle builder, uint gateway);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_add_route(ConfigBuilderHandle builder, byte[] pattern, uint gateway);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_set_sessions(ConfigBuilderHandle builder, uint sessions);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_builder_set_upload_attempts(ConfigBuilderHandle builder, uint attempts);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern void gw_config_builder_free(IntPtr builder);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_from_file(byte[] path, byte[] profile, out ConfigHandle config);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_profile(ConfigHandle config, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_journal(ConfigHandle config, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_config_inbox(ConfigHandle config, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern void gw_config_free(IntPtr config);

        // ---- client
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_from_config(byte[] configPath, byte[] profile, out ClientHandle client);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_connect(ConfigHandle config, out ClientHandle client);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_open(ConfigHandle config, out ClientHandle client);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_set_event_callback(ClientHandle client, EventCallback callback, IntPtr userdata);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_set_event_callback(IntPtr client, EventCallback callback, IntPtr userdata);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_username(ClientHandle client, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_inbox(ClientHandle client, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_services(ClientHandle client, out ServiceListHandle list);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_services_on(ClientHandle client, uint gateway, out ServiceListHandle list);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_submit_file(ClientHandle client, byte[] service, byte[] path, byte[] nameBuf, UIntPtr nameLen, out UIntPtr nameN);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_submit_as(ClientHandle client, byte[] service, byte[] path, byte[] name, byte[] prefix, uint flags, out SubmissionHandle submission, out uint outcome);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_submit_files(ClientHandle client, byte[] service, IntPtr[] paths, UIntPtr count, byte[] prefix, uint flags, [Out] uint[] results, [Out] IntPtr[] submissions, [Out] uint[] outcomes);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_submit_bytes_as(ClientHandle client, byte[] service, byte[] data, UIntPtr len, byte[] extension, byte[] name, byte[] prefix, uint flags, out SubmissionHandle submission, out uint outcome);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_poll(ClientHandle client, byte[] inbox);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_poll_report(ClientHandle client, byte[] inbox, uint flags, out PollReportHandle report);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_poll_until_settled(ClientHandle client, byte[] inbox, uint flags, ulong waitMs, ulong intervalMs, out PollReportHandle report);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_state(ClientHandle client, byte[] name, out uint state);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_submission(ClientHandle client, byte[] name, out SubmissionHandle submission);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_submissions(ClientHandle client, out SubmissionListHandle list);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_pending(ClientHandle client, out SubmissionListHandle list);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_stale_uploads(ClientHandle client, out SubmissionListHandle list);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_rejected(ClientHandle client, out SubmissionListHandle list);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_close_submission(ClientHandle client, byte[] name, byte[] reason, out SubmissionHandle submission);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_ping(ClientHandle client, byte[] inbox, ulong timeoutMs, out ulong roundTripMs, out ReceiptHandle receipt);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_fetch_login_info(ClientHandle client, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_client_save_login_info(ClientHandle client, byte[] path, [MarshalAs(UnmanagedType.I1)] bool overwrite);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern void gw_client_free(IntPtr client);

        // ---- submissions
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_name(SubmissionHandle s, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_service(SubmissionHandle s, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_gateway(SubmissionHandle s, out uint gateway);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_state(SubmissionHandle s, out uint state);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_local_path(SubmissionHandle s, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_size(SubmissionHandle s, out ulong size);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_sha256(SubmissionHandle s, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_attempts(SubmissionHandle s, out uint attempts);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_time(SubmissionHandle s, uint which, out long ms);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_skat_transaction_id(SubmissionHandle s, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_error_code(SubmissionHandle s, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_error_message(SubmissionHandle s, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_error_resolution(SubmissionHandle s, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_response_files_len(SubmissionHandle s, out UIntPtr len);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_response_file(SubmissionHandle s, UIntPtr index, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_response_file_local_path(SubmissionHandle s, UIntPtr index, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_receipts_len(SubmissionHandle s, out UIntPtr len);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_receipt(SubmissionHandle s, UIntPtr index, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_receipt_code(SubmissionHandle s, UIntPtr index, out uint code);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_receipt_local_path(SubmissionHandle s, UIntPtr index, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_receipt_time(SubmissionHandle s, UIntPtr index, out long ms);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_close_reason(SubmissionHandle s, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern void gw_submission_free(IntPtr s);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_list_len(SubmissionListHandle list, out UIntPtr len);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_submission_list_get(SubmissionListHandle list, UIntPtr index, out SubmissionHandle s);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern void gw_submission_list_free(IntPtr list);

        // ---- receipts and fetched files
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_receipt_status_file(ReceiptHandle r, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_receipt_service(ReceiptHandle r, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_receipt_transaction_id(ReceiptHandle r, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_receipt_code(ReceiptHandle r, out uint code);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_receipt_skat_transaction_id(ReceiptHandle r, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_receipt_timestamp(ReceiptHandle r, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_receipt_status_text(ReceiptHandle r, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_receipt_remote_path(ReceiptHandle r, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_receipt_response_files_len(ReceiptHandle r, out UIntPtr len);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_receipt_response_file(ReceiptHandle r, UIntPtr index, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_receipt_errors_len(ReceiptHandle r, out UIntPtr len);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_receipt_error_code(ReceiptHandle r, UIntPtr index, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_receipt_error_message(ReceiptHandle r, UIntPtr index, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_receipt_error_resolution(ReceiptHandle r, UIntPtr index, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_receipt_local_path(ReceiptHandle r, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_receipt_gateway(ReceiptHandle r, out uint gateway);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_receipt_outcome(ReceiptHandle r, out uint outcome, out uint state);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_receipt_is_ours(ReceiptHandle r, [MarshalAs(UnmanagedType.I1)] out bool ours);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern void gw_receipt_free(IntPtr r);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_fetched_file_remote_name(FetchedFileHandle f, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_fetched_file_local_path(FetchedFileHandle f, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_fetched_file_size(FetchedFileHandle f, out ulong size);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_fetched_file_sha256(FetchedFileHandle f, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_fetched_file_is_new(FetchedFileHandle f, [MarshalAs(UnmanagedType.I1)] out bool isNew);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_fetched_file_deleted_remote(FetchedFileHandle f, [MarshalAs(UnmanagedType.I1)] out bool deleted);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_fetched_file_gateway(FetchedFileHandle f, out uint gateway);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern void gw_fetched_file_free(IntPtr f);

        // ---- poll reports
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_poll_report_len(PollReportHandle r, uint which, out UIntPtr len);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_poll_report_receipt(PollReportHandle r, uint which, UIntPtr index, out ReceiptHandle receipt);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_poll_report_file(PollReportHandle r, uint which, UIntPtr index, out FetchedFileHandle file);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_poll_report_submission(PollReportHandle r, uint which, UIntPtr index, out SubmissionHandle s);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_poll_report_invalid_path(PollReportHandle r, UIntPtr index, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_poll_report_name(PollReportHandle r, uint which, UIntPtr index, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_poll_report_reason(PollReportHandle r, uint which, UIntPtr index, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_poll_report_gateway(PollReportHandle r, uint which, UIntPtr index, out uint gateway);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern void gw_poll_report_free(IntPtr r);

        // ---- services
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_service_list_len(ServiceListHandle list, out UIntPtr len);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_service_list_name(ServiceListHandle list, UIntPtr index, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_service_list_system(ServiceListHandle list, UIntPtr index, out uint system);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_service_list_transfer_type(ServiceListHandle list, UIntPtr index, out uint transfer);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_service_list_known(ServiceListHandle list, UIntPtr index, [MarshalAs(UnmanagedType.I1)] out bool known);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern void gw_service_list_free(IntPtr list);

        // ---- session
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_session_connect(ConfigHandle config, IdentityHandle identity, uint gateway, out SessionHandle session);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_session_connect(ConfigHandle config, IntPtr noIdentity, uint gateway, out SessionHandle session);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_session_username(SessionHandle session, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_session_list(SessionHandle session, byte[] path, out EntryListHandle list);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_session_put_file(SessionHandle session, byte[] localPath, byte[] remote, uint transfer, ProgressCallback progress, IntPtr userdata, out ulong bytes);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_session_put_bytes(SessionHandle session, byte[] data, UIntPtr len, byte[] remote, uint transfer);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_session_get_file(SessionHandle session, byte[] remote, byte[] localPath, uint transfer, [MarshalAs(UnmanagedType.I1)] bool synced, ProgressCallback progress, IntPtr userdata, out ulong bytes);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_session_delete(SessionHandle session, byte[] remote);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_session_size(SessionHandle session, byte[] remote, out ulong size);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_session_quit(SessionHandle session);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern void gw_session_free(IntPtr session);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_entry_list_len(EntryListHandle list, out UIntPtr len);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_entry_list_name(EntryListHandle list, UIntPtr index, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_entry_list_is_dir(EntryListHandle list, UIntPtr index, [MarshalAs(UnmanagedType.I1)] out bool isDir);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_entry_list_size(EntryListHandle list, UIntPtr index, out ulong size);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern void gw_entry_list_free(IntPtr list);

        // ---- simulator
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_simulator_start(byte[] dir, out SimulatorHandle sim);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_simulator_start_with_ports(byte[] dir, ushort port, ushort legacyPort, ushort dataFirst, ushort dataLast, out SimulatorHandle sim);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_simulator_client_config(SimulatorHandle sim, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_simulator_dir(SimulatorHandle sim, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_simulator_username(SimulatorHandle sim, byte[] buf, UIntPtr len, out UIntPtr n);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_simulator_port(SimulatorHandle sim, out ushort port);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_simulator_legacy_port(SimulatorHandle sim, out ushort port);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_simulator_set_backend_available(SimulatorHandle sim, [MarshalAs(UnmanagedType.I1)] bool available);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern uint gw_simulator_stop(SimulatorHandle sim);
        [DllImport(Lib, CallingConvention = Cdecl)] internal static extern void gw_simulator_free(IntPtr sim);

        /// <summary>Throws the exception for a failed call (the calling thread's last error), or returns.</summary>
        internal static void Check(uint result)
        {
            if (result != GW_OK) throw GatewayException.FromLastError(result);
        }

        /// <summary>Throws the exception for a failed call, or returns the handle it gave.</summary>
        internal static T Take<T>(uint result, T handle) where T : SafeHandle
        {
            if (result != GW_OK)
            {
                if (handle != null) handle.Dispose();
                throw GatewayException.FromLastError(result);
            }
            return handle;
        }
    }

    /// <summary>UTF-8 across the boundary, done by hand so that it is the same on every runtime.</summary>
    internal static class Utf8
    {
        private static readonly UTF8Encoding Strict = new UTF8Encoding(false, true);

        /// <summary>A NUL-terminated UTF-8 copy of <paramref name="text"/>; null stays null (C's NULL).</summary>
        internal static byte[] In(string text, string argument)
        {
            if (text == null) return null;
            if (text.IndexOf('\0') >= 0)
                throw new ArgumentException("the text holds a NUL character, which C strings cannot carry", argument);
            byte[] bytes;
            try { bytes = new byte[Strict.GetByteCount(text) + 1]; }
            catch (EncoderFallbackException e) { throw new ArgumentException("the text is not valid UTF-16 (an unpaired surrogate)", argument, e); }
            Strict.GetBytes(text, 0, text.Length, bytes, 0);
            return bytes;
        }

        /// <summary>As <see cref="In"/>, refusing null.</summary>
        internal static byte[] Required(string text, string argument)
        {
            if (text == null) throw new ArgumentNullException(argument);
            return In(text, argument);
        }

        /// <summary>UTF-8 bytes without NUL, for (pointer, length) secrets; the caller wipes them.</summary>
        internal static byte[] Secret(string text, string argument)
        {
            if (text == null) throw new ArgumentNullException(argument);
            return Strict.GetBytes(text);
        }

        /// <summary>Calls a string-rule function: first with a buffer that fits most texts, then, when the
        /// library says it is too small, with one of the size it asked for.</summary>
        /// With <paramref name="wipe"/> (a secret) the buffers are cleared once decoded.
        internal static string Out(Native.StringOut call, bool wipe = false)
        {
            uint result;
            string text = Call(call, wipe, out result);
            Native.Check(result);
            return text;
        }

        /// <summary>As <see cref="Out"/>, giving null instead of throwing (for reading the last error itself).</summary>
        internal static string TryOut(Native.StringOut call)
        {
            uint result;
            return Call(call, false, out result);
        }

        private static string Call(Native.StringOut call, bool wipe, out uint result)
        {
            byte[] buf = new byte[256];
            UIntPtr n;
            result = call(buf, (UIntPtr)buf.Length, out n);
            if (result == Native.GW_ERR_BUFFER_TOO_SMALL)
            {
                buf = new byte[checked((int)n.ToUInt64() + 1)];
                result = call(buf, (UIntPtr)buf.Length, out n);
            }
            string text = result == Native.GW_OK ? Encoding.UTF8.GetString(buf, 0, checked((int)n.ToUInt64())) : null;
            if (wipe) Array.Clear(buf, 0, buf.Length);
            return text;
        }

        /// <summary>A NUL-terminated UTF-8 string owned by the library (a callback argument, static text).</summary>
        internal static string FromPointer(IntPtr text)
        {
            if (text == IntPtr.Zero) return string.Empty;
            int length = 0;
            while (Marshal.ReadByte(text, length) != 0) length++;
            byte[] bytes = new byte[length];
            Marshal.Copy(text, bytes, 0, length);
            return Encoding.UTF8.GetString(bytes);
        }
    }
}
