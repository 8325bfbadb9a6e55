using System.Diagnostics;
using PFStorer.Images;
using Xunit;

namespace PFStorer.Restore.Tests;

/// <summary>`personalize` and `restore --identity` through the real executable on the tiny demo weights and the shipped astronaut photos.</summary>
public sealed class PersonalizeHostTests : IDisposable
{
    private readonly HostRunner _host = new();
    private static readonly string Photos = Fixtures.Example("astronaut", "photos");

    public PersonalizeHostTests() => _host.Environment["SOURCE_DATE_EPOCH"] = "1764547200";

    private string[] Personalize(string output, int iterations, params string[] extra) =>
        ["personalize", Photos, "-o", output, "--iterations", iterations.ToString(), "--placements", "all-decoder",
         "--weights", HostRunner.TinyModel, "--vae", HostRunner.TinyVae, "--device", "cpu", .. extra];

    [Fact]
    public void PersonalizeThenRestoreWithTheIdentityRecordsItInTheOutput()
    {
        string identity = _host.PathOf("astronaut.pfid.safetensors");
        var (code, stdout, stderr) = _host.Run(Personalize(identity, 2));
        Assert.True(code == 0, $"personalize exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("iteration 2/2", stdout);
        Assert.Contains("γ output_blocks", stdout);

        (code, stdout, stderr) = _host.Restore(Fixtures.Example("astronaut", "old.png"), "--identity", identity, "-o", _host.PathOf("out"));
        Assert.True(code == 0, $"restore exit {code}\n{stdout}\n{stderr}");
        string output = _host.PathOf("out", "old.png");
        var text = ImageFile.ReadText(output);
        Assert.Equal("astronaut.pfid.safetensors", text["pfstorer:identity"]);
        Assert.Contains("*", text["pfstorer:prompt"]);
        Assert.Equal(16, text["pfstorer:identity_sha256"].Length);

        (code, stdout, _) = _host.Run("weights", "inspect", identity);
        Assert.Equal(0, code);
        Assert.Contains("mean |γ|", stdout);
        Assert.Contains("references 3", stdout);
    }

    /// <summary>
    /// A group photo through the executable: an identity personalized on the astronaut's photos (its face descriptor
    /// recorded) and a copy under another name; in pair.png the astronaut goes to the first listed, the cameraman to none.
    /// </summary>
    [Fact]
    public void RestoreWithTwoIdentitiesRoutesTheFacesAndRecordsTheAssignment()
    {
        _host.Environment["PFSTORER_FACE_WEIGHTS"] = FaceFixtures.WeightsDir;
        string alice = _host.PathOf("alice.pfid.safetensors"), bob = _host.PathOf("bob.pfid.safetensors");
        var (code, stdout, stderr) = _host.Run(Personalize(alice, 1));
        Assert.True(code == 0, $"personalize exit {code}\n{stdout}\n{stderr}");
        File.Copy(alice, bob);

        (code, stdout, stderr) = _host.Restore(FaceFixtures.Image("pair"), "--identity", alice, "--identity", bob, "--upscale", "1", "-o", _host.PathOf("out"));
        Assert.True(code == 0, $"restore exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("pair.png: 2 faces", stdout);
        Assert.Contains("→ alice.pfid.safetensors", stdout);
        Assert.Contains("→ no identity within 0.6", stdout);
        var text = ImageFile.ReadText(_host.PathOf("out", "pair.png"));
        using var faces = System.Text.Json.JsonDocument.Parse(text["pfstorer:faces"]);
        var identities = faces.RootElement.EnumerateArray().Select(f => f.GetProperty("identity").GetString() ?? "none").ToArray();
        Assert.Equal("alice.pfid.safetensors none", string.Join(' ', identities));
        Assert.True(faces.RootElement[1].GetProperty("distance").GetDouble() > 0.6);
        Assert.Contains("bob.pfid.safetensors", text["pfstorer:identities"]);
        Assert.False(text.ContainsKey("pfstorer:identity"));
    }

    /// <summary>
    /// SIGINT goes out when the first iteration is reported; the run stops before the next one. Ten iterations leave the
    /// signal several seconds to arrive even on a loaded machine (a signal after the last iteration lets the run finish).
    /// </summary>
    [Fact]
    public async Task AnInterruptedRunResumedEndsWithTheSameBytesAsAnUninterruptedOne()
    {
        const int Iterations = 10;
        string whole = _host.PathOf("whole.pfid.safetensors"), resumed = _host.PathOf("resumed.pfid.safetensors");
        var (code, stdout, stderr) = _host.Run(Personalize(whole, Iterations));
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");

        using (var p = _host.Start(Personalize(resumed, Iterations)))
        {
            var err = p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            string? line;
            var seen = new List<string>();
            while ((line = p.StandardOutput.ReadLine()) != null)
            {
                seen.Add(line);
                if (line.StartsWith($"iteration 1/{Iterations}", StringComparison.Ordinal)) Signal(p.Id, "INT");
            }
            Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)));
            string errText = await err;
            Assert.True(p.ExitCode == 130, $"exit {p.ExitCode}\n{string.Join('\n', seen)}\n{errText}");
            Assert.Contains(seen, l => l.StartsWith("interrupted after iteration", StringComparison.Ordinal));
        }
        Assert.False(File.Exists(resumed));
        Assert.True(File.Exists(resumed + ".resume"));

        (code, stdout, stderr) = _host.Run(Personalize(resumed, Iterations, "--resume"));
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("resuming", stdout);
        Assert.Equal(File.ReadAllBytes(whole), File.ReadAllBytes(resumed));
        Assert.False(File.Exists(resumed + ".resume"));
        Assert.Empty(Directory.GetFiles(_host.Dir, ".*.tmp"));
    }

    [Fact]
    public void AnUnreadablePhotoIsNamedAndNothingIsTrained()
    {
        Directory.CreateDirectory(_host.PathOf("photos"));
        foreach (var f in Directory.GetFiles(Photos)) File.Copy(f, _host.PathOf("photos", Path.GetFileName(f)));
        File.WriteAllBytes(_host.PathOf("photos", "4.png"), File.ReadAllBytes(Path.Combine(Photos, "1.png"))[..300]);
        string output = _host.PathOf("x.pfid.safetensors");
        var args = Personalize(output, 2);
        args[1] = _host.PathOf("photos");
        var (code, stdout, stderr) = _host.Run(args);
        Assert.Equal(2, code);
        Assert.Contains("4.png", stderr);
        Assert.Contains("nothing was trained", stderr);
        Assert.DoesNotContain("iteration", stdout);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void AnExistingIdentityFileIsKeptWithoutOverwrite()
    {
        string output = _host.PathOf("kept.pfid.safetensors");
        File.WriteAllText(output, "precious");
        var (code, _, stderr) = _host.Run(Personalize(output, 1));
        Assert.Equal(2, code);
        Assert.Contains("--overwrite", stderr);
        Assert.Equal("precious", File.ReadAllText(output));
    }

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString()]);
        kill.WaitForExit();
    }

    public void Dispose() => _host.Dispose();
}
