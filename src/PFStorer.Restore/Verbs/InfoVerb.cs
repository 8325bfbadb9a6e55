using System.CommandLine;
using PFStorer.Kernels.Memory;

namespace PFStorer.Restore;

/// <summary>`info`: what this engine build can use on this machine.</summary>
internal static class InfoVerb
{
    public static Command Create()
    {
        var cmd = new Command("info", "Show the engine's backends and what this machine offers.");
        cmd.SetAction(_ =>
        {
            Console.WriteLine($"PFStorer.Native {typeof(InfoVerb).Assembly.GetName().Version}");
            Console.WriteLine($"  runtime      .NET {Environment.Version}, {Environment.ProcessorCount} cores");
            Console.WriteLine($"  cpu backend  available (reference), pool reserved {HostMemoryPool.Shared.Counters.BytesReserved} bytes");
            return 0;
        });
        return cmd;
    }
}
