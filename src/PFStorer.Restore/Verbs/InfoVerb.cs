using System.CommandLine;
using PFStorer.Graph.Backends;
using PFStorer.Kernels.Cuda;

namespace PFStorer.Restore;

/// <summary>`info`: what this engine build can use on this machine (the first thing to run when a GPU is not picked up).</summary>
internal static class InfoVerb
{
    public static Command Create()
    {
        var cmd = new Command("info", "Show the engine's backends and what this machine offers.");
        cmd.SetAction(_ =>
        {
            Console.WriteLine($"PFStorer.Native {typeof(InfoVerb).Assembly.GetName().Version}");
            Console.WriteLine($"  runtime  .NET {Environment.Version}, {Environment.ProcessorCount} cores");
            Console.WriteLine("  cpu      available (the reference backend)");
            Console.WriteLine(Nvrtc.IsAvailable(out var nvrtcReason)
                ? $"  nvrtc    {Nvrtc.Version()} (CUDA kernels compile at first use, cached on disk)"
                : $"  nvrtc    not available: {nvrtcReason}");
            var cuda = CudaBackend.TryCreate(out var cudaReason);
            Console.WriteLine(cuda != null ? $"  cuda     {cuda.Gpu.Describe()}" : $"  cuda     not available: {cudaReason}");
            return 0;
        });
        return cmd;
    }
}
