using System.Diagnostics;
using System.Runtime.InteropServices;
using PFStorer.Graph;
using PFStorer.Graph.Backends;
using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Models;
using PFStorer.Graph.Pipeline;
using PFStorer.Kernels.Memory;

namespace PFStorer.Benchmarks;

/// <summary>
/// Loading the full-size StableSR checkpoint (StableSRConfig.Full512, the official key layout) into the CPU backend,
/// or straight onto the GPU. Not a BenchmarkDotNet class: peak resident memory is a per-process figure, so each
/// measurement is its own process. <c>load-write PATH [f16|bf16|f32]</c> writes random weights (atomically; ~2.8 GB in
/// f16) and <c>load-time PATH [cpu|cuda]</c> loads them once and prints the seconds, the host pool's peak bytes in use
/// (on cuda: the staging buffers) and the peak RSS (VmHWM from /proc/self/status; on cuda it includes the driver's).
/// Run load-time twice and keep the second figure: the first one also pays for reading the file into the page cache.
/// </summary>
public static class CheckpointLoadBenchmark
{
    public static int Run(string[] args)
    {
        if (args is ["load-write", var path, ..])
        {
            var dtype = args.Length > 2 ? Enum.Parse<CheckpointDType>(args[2], ignoreCase: true) : CheckpointDType.F16;
            Write(path, dtype);
            return 0;
        }
        if (args is ["load-time", var file, .. var rest] && rest is [] or ["cpu"] or ["cuda"])
        {
            Time(file, rest is ["cuda"]);
            return 0;
        }
        Console.Error.WriteLine("usage: load-write PATH [f16|bf16|f32] | load-time PATH [cpu|cuda]");
        return 2;
    }

    private static void Write(string path, CheckpointDType dtype)
    {
        using var model = new LatentDiffusionSRTextWT(StableSRConfig.Full512);
        // One block of random values, written at a rotating offset: random enough for loading, and fast to write.
        var block = new byte[(1 << 24) * dtype.Size()];
        var rng = new Random(15);
        var values = new float[1 << 24];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 2 - 1) * 0.1f;
        var f32 = MemoryMarshal.AsBytes(values.AsSpan());
        Encode(f32, block, dtype, values.Length);
        long cursor = 0;
        var entries = StableSRWeights.Components(model).SelectMany(c => StableSRKeyMap.ExpectedKeys(c.Item2, c.Item1))
            .Select(k => new SafetensorsEntry(k.Key, dtype, k.Shape, s =>
            {
                long bytes = k.Shape.Aggregate(1L, (a, d) => a * d) * dtype.Size();
                while (bytes > 0)
                {
                    int start = (int)(cursor % block.Length / dtype.Size() * dtype.Size());
                    int n = (int)Math.Min(bytes, block.Length - start);
                    s.Write(block, start, n);
                    bytes -= n;
                    cursor += n + 2 * dtype.Size();
                }
            })).ToList();
        SafetensorsWriter.Write(path, entries);
        Console.WriteLine($"{path}: {entries.Count} tensors, {new FileInfo(path).Length / 1e9:F2} GB of {dtype}");
    }

    private static void Encode(ReadOnlySpan<byte> f32, Span<byte> dst, CheckpointDType dtype, int count)
    {
        var src = MemoryMarshal.Cast<byte, float>(f32);
        for (int i = 0; i < count; i++)
            switch (dtype)
            {
                case CheckpointDType.F32: MemoryMarshal.Cast<byte, float>(dst)[i] = src[i]; break;
                case CheckpointDType.F16: MemoryMarshal.Cast<byte, Half>(dst)[i] = (Half)src[i]; break;
                case CheckpointDType.BF16: MemoryMarshal.Cast<byte, ushort>(dst)[i] = PFStorer.Kernels.Cpu.Bf16.FromFloat(src[i]); break;
                default: throw new ArgumentException($"load-write writes f16, bf16 or f32, not {dtype}");
            }
    }

    private static void Time(string path, bool cuda)
    {
        var gpu = cuda ? CudaBackend.TryCreate(out var reason) ?? throw new InvalidOperationException($"cuda: {reason}") : null;
        var staging = gpu != null ? new DeviceStaging(gpu.Device) : null;
        using var model = new LatentDiffusionSRTextWT(StableSRConfig.Full512);
        HostMemoryPool.Shared.ResetPeak();
        long hostBefore = HostMemoryPool.Shared.Counters.BytesInUse;
        var clock = Stopwatch.StartNew();
        long loadedBytes = 0;
        using (var file = Checkpoint.Open(path))
            foreach (var (component, module) in StableSRWeights.Components(model))
            {
                var report = LoadReport.LoadInto(file, module, component, staging: staging);
                if (report.Missing.Count + report.Mismatched.Count > 0) throw new InvalidOperationException($"{path}: {report}");
            }
        gpu?.Synchronize();   // the last host→device copies may still be in flight
        clock.Stop();
        long hostPeak = HostMemoryPool.Shared.Counters.PeakBytesInUse - hostBefore;
        foreach (var (_, module) in StableSRWeights.Components(model))
            foreach (var (_, p) in module.NamedParameters())
                loadedBytes += p.Value!.Numel * 4;
        Console.WriteLine($"{path}: loaded onto {staging?.Device ?? Device.Cpu} in {clock.Elapsed.TotalSeconds:F2} s; f32 weights {loadedBytes / 1e9:F2} GB; " +
            $"host pool peak {hostPeak / 1e6:F1} MB; peak RSS {PeakRssBytes() / 1e9:F2} GB; {Environment.ProcessorCount} cores");
    }

    private static long PeakRssBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0]) * 1024;
        return -1;
    }
}
