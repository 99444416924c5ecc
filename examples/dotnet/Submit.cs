// Submit.cs: send one file to the gateway exactly once and wait for its answer (status 3).
//   mcs Submit.cs -r:Skat.Gateway.dll      (or reference the Skat.Gateway package)
//   mono Submit.exe client.toml Manifest.AnkomstdeklarationOpret declaration.xml
using System;
using System.Threading;
using Skat.Gateway;

static class Submit
{
    static int Main(string[] args)
    {
        if (args.Length != 3) { Console.Error.WriteLine("usage: Submit CONFIG SERVICE FILE"); return 2; }
        try
        {
            using (var client = GatewayClient.FromConfig(args[0]))
            {
                string name = client.SubmitFile(args[1], args[2]); // a unique name, in the journal first
                SubmissionState state = client.State(name);
                for (int polls = 0; polls < 60 && state != SubmissionState.Responded && state != SubmissionState.Failed; polls++)
                {
                    Thread.Sleep(1000);
                    try { client.Poll(); state = client.State(name); }
                    catch (GatewayConnectionException) { } // the network: simply try again in the next round
                }
                Console.WriteLine("{0}: {1}", name, state);
                return state == SubmissionState.Responded ? 0 : 1;
            }
        }
        catch (GatewayException e)
        {
            Console.Error.WriteLine("{0} ({1})", e.Message, e.Kind); // what happened and what to do
            return 1;
        }
    }
}
