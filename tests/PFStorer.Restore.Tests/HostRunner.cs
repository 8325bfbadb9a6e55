using System.Diagnostics;

namespace PFStorer.Restore.Tests;

/// <summary>Runs the real `pfstorer` executable (the built host assembly next to the tests) in a temp folder.</summary>
internal sealed class HostRunner : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("pfstorer-host-").FullName;

    public static readonly string TinyModel = Fixtures.Path("stablesr-tiny", "model.safetensors");
    public static readonly string TinyVae = Fixtures.Path("stablesr-tiny", "vae_cfw.safetensors");
    public static readonly string SampleImage = Fixtures.Path("sampling", "lq.png");

    public string PathOf(params string[] parts) => Path.Combine([Dir, .. parts]);

    /// <summary>Environment variables given to every run (e.g. SOURCE_DATE_EPOCH).</summary>
    public Dictionary<string, string> Environment { get; } = [];

    public (int ExitCode, string Stdout, string Stderr) Run(params string[] args)
    {
        using var p = Start(args);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3))) { p.Kill(true); throw new TimeoutException($"pfstorer {string.Join(' ', args)} ran over 3 minutes"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// Starts the host with redirected output; the caller reads it and waits. It runs under `env --default-signal=INT`:
    /// a test runner may ignore SIGINT, children inherit that, and .NET then leaves SIGINT ignored (as shells do for
    /// background jobs) — the host must see Ctrl-C as a user's shell delivers it.
    /// </summary>
    public Process Start(params string[] args)
    {
        string host = typeof(RestoreVerb).Assembly.Location;
        var psi = new ProcessStartInfo("env") { WorkingDirectory = Dir, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["TERM"] = "xterm-256color";   // as in a user's shell: the host must still write plain text into the pipe
        foreach (var (k, v) in Environment) psi.Environment[k] = v;
        foreach (var a in (string[])["--default-signal=INT", "dotnet", host, .. args]) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    /// <summary>The tiny model's arguments for `restore` (2 steps on the CPU).</summary>
    public static readonly string[] TinyRestoreOptions = ["--weights", TinyModel, "--vae", TinyVae, "--steps", "2", "--device", "cpu"];

    /// <summary>`restore` with the tiny demo weights and 2 steps (the model is random; these tests are about the host).</summary>
    public (int ExitCode, string Stdout, string Stderr) Restore(params string[] args) =>
        Run(["restore", .. args, .. TinyRestoreOptions]);

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
