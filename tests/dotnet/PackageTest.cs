// Opens the .nupkg that scripts/build-dotnet made and checks what a NuGet client and a .NET program get from
// it: the entries, the manifest, the managed assembly (its version, the fixed contract's signatures, what it
// references) and the two native libraries, byte for byte the ones built.
//
//   mono PackageTest.exe PACKAGE.nupkg CARGO_VERSION BUILT_DLL LIBGATEWAY_SO GATEWAY_DLL
using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Reflection;
using System.Xml;

internal static class PackageTest
{
    private static int passed, failed;

    private static void Check(bool condition, string what)
    {
        if (condition) passed++;
        else { failed++; Console.Error.WriteLine("FAILED: " + what); }
    }

    private static byte[] Read(ZipArchive zip, string name)
    {
        var entry = zip.GetEntry(name);
        if (entry == null) return new byte[0];
        using (var s = entry.Open())
        using (var m = new MemoryStream())
        {
            s.CopyTo(m);
            return m.ToArray();
        }
    }

    private static int Main(string[] args)
    {
        if (args.Length != 5)
        {
            Console.Error.WriteLine("usage: PackageTest.exe PACKAGE.nupkg CARGO_VERSION BUILT_DLL LIBGATEWAY_SO GATEWAY_DLL");
            return 2;
        }
        string package = args[0], version = args[1];
        Check(Path.GetFileName(package) == "Skat.Gateway." + version + ".nupkg", "the file name NuGet expects: " + package);
        using (var zip = new ZipArchive(File.OpenRead(package), ZipArchiveMode.Read))
        {
            var names = zip.Entries.Select(e => e.FullName).OrderBy(n => n, StringComparer.Ordinal).ToArray();
            var expected = new[]
            {
                "Skat.Gateway.nuspec", "[Content_Types].xml", "_rels/.rels", "lib/netstandard2.0/Skat.Gateway.dll",
                "lib/netstandard2.0/Skat.Gateway.xml", "runtimes/linux-x64/native/libgateway.so", "runtimes/win-x64/native/gateway.dll",
            }.OrderBy(n => n, StringComparer.Ordinal).ToArray();
            Check(names.SequenceEqual(expected), "the entries: " + string.Join(", ", names));
            Check(zip.Entries.All(e => !e.FullName.Contains("\\")), "entry names use forward slashes");

            // The manifest.
            var nuspec = new XmlDocument();
            nuspec.LoadXml(System.Text.Encoding.UTF8.GetString(Read(zip, "Skat.Gateway.nuspec")));
            var ns = new XmlNamespaceManager(nuspec.NameTable);
            ns.AddNamespace("n", nuspec.DocumentElement.NamespaceURI);
            Func<string, string> meta = path => { var node = nuspec.SelectSingleNode("/n:package/n:metadata/" + path, ns); return node == null ? null : node.InnerText; };
            Check(meta("n:id") == "Skat.Gateway", "id");
            Check(meta("n:version") == version, "version " + meta("n:version") + " is the crate's " + version);
            Check(meta("n:license") == "MIT", "licence");
            Check(!string.IsNullOrEmpty(meta("n:description")) && !string.IsNullOrEmpty(meta("n:authors")), "description and authors (NuGet requires them)");
            var group = nuspec.SelectSingleNode("/n:package/n:metadata/n:dependencies/n:group", ns);
            Check(group != null && group.Attributes["targetFramework"].Value == ".NETStandard2.0", "a netstandard2.0 dependency group");
            Check(System.Text.Encoding.UTF8.GetString(Read(zip, "_rels/.rels")).Contains("Target=\"/Skat.Gateway.nuspec\""), "the OPC relationship to the manifest");
            Check(System.Text.Encoding.UTF8.GetString(Read(zip, "[Content_Types].xml")).Contains("Extension=\"dll\""), "content types");

            // The managed assembly: the one built, its version, and the fixed contract.
            byte[] managed = Read(zip, "lib/netstandard2.0/Skat.Gateway.dll");
            Check(managed.SequenceEqual(File.ReadAllBytes(args[2])), "lib/netstandard2.0/Skat.Gateway.dll is the one built");
            Assembly assembly = Assembly.Load(managed);
            Check(assembly.GetName().Name == "Skat.Gateway" && assembly.GetName().Version.ToString() == version + ".0", "assembly name and version: " + assembly.GetName());
            var references = assembly.GetReferencedAssemblies().Select(r => r.Name).ToArray();
            Check(references.All(r => r == "mscorlib" || r == "System"), "references only mscorlib and System: " + string.Join(", ", references));
            Contract(assembly);
            string docs = System.Text.Encoding.UTF8.GetString(Read(zip, "lib/netstandard2.0/Skat.Gateway.xml"));
            Check(docs.Contains("M:Skat.Gateway.GatewayClient.SubmitFile(System.String,System.String)"), "API docs for IntelliSense");

            // The native libraries, for Linux and Windows on x64.
            byte[] so = Read(zip, "runtimes/linux-x64/native/libgateway.so");
            Check(so.Length > 4 && so[0] == 0x7f && so[1] == 'E' && so[2] == 'L' && so[3] == 'F' && so[4] == 2, "an ELF64 libgateway.so");
            Check(so.SequenceEqual(File.ReadAllBytes(args[3])), "libgateway.so is the one built");
            byte[] dll = Read(zip, "runtimes/win-x64/native/gateway.dll");
            int pe = dll.Length > 0x40 ? BitConverter.ToInt32(dll, 0x3c) : 0;
            Check(dll.Length > pe + 6 && dll[0] == 'M' && dll[1] == 'Z' && dll[pe] == 'P' && dll[pe + 1] == 'E' && BitConverter.ToUInt16(dll, pe + 4) == 0x8664,
                "a PE x64 gateway.dll");
            Check(dll.SequenceEqual(File.ReadAllBytes(args[4])), "gateway.dll is the one built");
        }
        Console.WriteLine("package test: {0} passed, {1} failed", passed, failed);
        return failed == 0 ? 0 : 1;
    }

    /// <summary>The fixed C# contract, member by member: programs outside are compiled against it.</summary>
    private static void Contract(Assembly a)
    {
        Type exception = a.GetType("Skat.Gateway.GatewayException");
        Check(exception != null && exception.IsPublic && typeof(Exception).IsAssignableFrom(exception), "GatewayException : Exception");
        Check(exception != null && exception.GetProperty("Code") != null && exception.GetProperty("Code").PropertyType == typeof(uint), "GatewayException.Code is uint");

        Type state = a.GetType("Skat.Gateway.SubmissionState");
        var states = new[] { "Reserved", "Uploading", "Uploaded", "Delivered", "Accepted", "Responded", "Failed", "Overdue", "Closed" };
        Check(state != null && state.IsEnum && Enum.GetUnderlyingType(state) == typeof(int), "SubmissionState is an int enum");
        for (int i = 0; state != null && i < states.Length; i++)
            Check(Enum.GetName(state, i) == states[i], "SubmissionState " + i + " is " + states[i]);

        Type identity = a.GetType("Skat.Gateway.Identity");
        Check(identity != null && identity.IsSealed && typeof(IDisposable).IsAssignableFrom(identity), "sealed Identity : IDisposable");
        var fromFile = identity == null ? null : identity.GetMethod("FromFile", new[] { typeof(string), typeof(string) });
        Check(fromFile != null && fromFile.IsStatic && fromFile.ReturnType == identity, "static Identity FromFile(string, string)");
        Check(identity != null && identity.GetProperty("UserName") != null && identity.GetProperty("UserName").PropertyType == typeof(string), "Identity.UserName");

        Type client = a.GetType("Skat.Gateway.GatewayClient");
        Check(client != null && client.IsSealed && typeof(IDisposable).IsAssignableFrom(client), "sealed GatewayClient : IDisposable");
        if (client != null)
        {
            var fromConfig = client.GetMethod("FromConfig", new[] { typeof(string), typeof(string) });
            Check(fromConfig != null && fromConfig.IsStatic && fromConfig.ReturnType == client, "static GatewayClient FromConfig(string, string)");
            Check(fromConfig != null && fromConfig.GetParameters()[1].IsOptional && fromConfig.GetParameters()[1].DefaultValue == null, "profile = null");
            var submitFile = client.GetMethod("SubmitFile", new[] { typeof(string), typeof(string) });
            Check(submitFile != null && submitFile.ReturnType == typeof(string), "string SubmitFile(string, string)");
            var poll = client.GetMethod("Poll", new[] { typeof(string) });
            Check(poll != null && poll.ReturnType == typeof(void) && poll.GetParameters()[0].IsOptional && poll.GetParameters()[0].DefaultValue == null, "void Poll(string inbox = null)");
            var stateOf = client.GetMethod("State", new[] { typeof(string) });
            Check(stateOf != null && stateOf.ReturnType == state, "SubmissionState State(string)");
        }
        Type library = a.GetType("Skat.Gateway.Library");
        Check(library != null && library.IsAbstract && library.IsSealed, "static class Library");
        var versionProperty = library == null ? null : library.GetProperty("Version", BindingFlags.Public | BindingFlags.Static);
        Check(versionProperty != null && versionProperty.PropertyType == typeof(string), "static string Library.Version");
    }
}
