using System.Diagnostics;
using PFStorer.Graph;
using PFStorer.Graph.Models;
using PFStorer.Graph.Pipeline;
using PFStorer.Images;
using PFStorer.Kernels.Memory;

namespace PFStorer.Benchmarks;

/// <summary>
/// Where the host memory of a full-size restoration goes (StableSRConfig.Full512, random weights, CPU backend):
/// <c>restore-memory [steps]</c> restores a 128² image ×4 (one 512² window, CFG batch 2) and prints the host pool's bytes
/// by phase — weights; peak above the weights while the text and the LQ image are encoded (up to the first step); peak
/// during sampling; peak while decoding — plus the pool's cached bytes and the process's peak RSS. A process of its own
/// per measurement: peak RSS is per process.
/// </summary>
public static class RestoreMemoryBenchmark
{
    public static int Run(string[] args)
    {
        int steps = args.Length > 1 ? int.Parse(args[1]) : 2;
        var pool = HostMemoryPool.Shared;
        var config = StableSRConfig.Full512;
        var model = new LatentDiffusionSRTextWT(config);
        var cfw = new AutoencoderKL(config.CfwVae, cfw: true);
        var rng = new Random(2026);
        RandomWeights.Fill(model, rng);
        RandomWeights.Fill(cfw, rng);
        long weights = pool.Counters.BytesInUse;
        Console.WriteLine($"  after making the weights: RSS {Gb(Status("VmRSS:"))}");
        using var restorer = new Restorer(new StableSRWeights(config, model, cfw), DeviceChoice.Cpu);
        var input = Image.NewU8(128, 128, 3);
        rng.NextBytes(input.U8!);

        pool.ResetPeak();
        long encode = 0, sampling = 0, cached = 0;
        var clock = Stopwatch.StartNew();
        restorer.Restore(input, new RestoreSettings { Steps = steps, Seed = 1 }, p =>
        {
            if (p.Step == 1) { encode = pool.Counters.PeakBytesInUse - weights; pool.ResetPeak(); }
            if (p.Step == p.Steps) { sampling = pool.Counters.PeakBytesInUse - weights; cached = Math.Max(cached, pool.Counters.BytesReserved - pool.Counters.BytesInUse); pool.ResetPeak(); }
        });
        long decode = pool.Counters.PeakBytesInUse - weights;
        var c = pool.Counters;
        Console.WriteLine($"full 512 model, 128² → 512², {steps} steps, CPU, {clock.Elapsed.TotalSeconds:F0} s");
        Console.WriteLine($"  weights (f32)                    {Gb(weights)}");
        Console.WriteLine($"  + peak, text and LQ encoding     {Gb(encode)}");
        Console.WriteLine($"  + peak, sampling (UNet, CFG ×2)  {Gb(sampling)}");
        Console.WriteLine($"  + peak, CFW decoding             {Gb(decode)}");
 Console.WriteLine($"  pool cached (free) during sampling {Gb(cached)}");
        Console.WriteLine($"  pool reserved at the end         {Gb(c.BytesReserved)} ({c.BackingAllocations} backing allocations)");
        Console.WriteLine($"  process peak RSS                 {Gb(Status("VmHWM:"))}");
        return 0;
    }

    private static string Gb(long bytes) => $"{bytes / 1e9,6:F2} GB";

    private static long Status(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return long.Parse(line[key.Length..].Trim().Split(' ')[0]) * 1024;
        return -1;
    }
}
