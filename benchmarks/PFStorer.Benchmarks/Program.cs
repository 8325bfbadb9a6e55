using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// `training tiny|512 …`: one timed training iteration with its peak memory (TrainingIteration), outside BenchmarkDotNet.
if (args.Length > 0 && args[0] == "training") return PFStorer.Benchmarks.TrainingIteration.Run(args[1..]);
if (args is ["load-write" or "load-time", ..]) return PFStorer.Benchmarks.CheckpointLoadBenchmark.Run(args);
// `restore-memory [steps]`: host memory of a full-size restoration by phase (RestoreMemoryBenchmark).
if (args is ["restore-memory", ..]) return PFStorer.Benchmarks.RestoreMemoryBenchmark.Run(args);

// In-process toolchain: the GPU machines have a .NET runtime but no SDK, so benchmarks cannot spawn builds there.
var config = DefaultConfig.Instance
    .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
return 0;
