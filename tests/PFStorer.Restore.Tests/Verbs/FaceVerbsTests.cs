using System.Security.Cryptography;
using System.Text.Json;
using PFStorer.Graph.Faces;
using PFStorer.Images;
using PFStorer.Training.Metrics;
using Xunit;

namespace PFStorer.Restore.Tests.Verbs;

/// <summary>`metrics` with the face metrics (ID, LMSE) and the `faces` verb, on the real photos of tests/fixtures/faces.</summary>
public class FaceVerbsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("pfstorer-faces-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string Sub(string name) => Directory.CreateDirectory(Path.Combine(_dir.FullName, name)).FullName;

    private static int Invoke(params string[] args) => InProcessVerbs.Invoke(args);

    [Fact]
    public void Metrics_gives_id_one_and_lmse_zero_for_the_same_face_and_less_for_another_person()
    {
        string reference = Sub("reference"), restored = Sub("restored");
        File.Copy(FaceFixtures.Image("astronaut"), Path.Combine(reference, "same.png"));
        File.Copy(FaceFixtures.Image("astronaut"), Path.Combine(restored, "same.png"));
        File.Copy(FaceFixtures.Image("camera"), Path.Combine(reference, "other.png"));
        File.Copy(FaceFixtures.Image("astronaut"), Path.Combine(restored, "other.png"));
        // A restoration that lost the face: flat gray where the reference shows two people.
        File.Copy(FaceFixtures.Image("pair"), Path.Combine(reference, "lost.png"));
        var pair = ImageFile.Read(FaceFixtures.Image("pair"));
        var flat = Image.NewU8(pair.Width, pair.Height, 3);
        Array.Fill(flat.U8!, (byte)128);
        File.WriteAllBytes(Path.Combine(restored, "lost.png"), ImageFile.Encode(flat, ImageSaveOptions.Png()));

        string json = Path.Combine(_dir.FullName, "metrics.json");
        Assert.Equal(0, Invoke("metrics", "--restored", restored, "--reference", reference, "--json", json, "--face-weights", FaceFixtures.WeightsDir));
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var rows = doc.RootElement.GetProperty("images").EnumerateArray().ToDictionary(r => r.GetProperty("image").GetString()!);
        double same = rows["same"].GetProperty("id").GetDouble(), other = rows["other"].GetProperty("id").GetDouble();
        Assert.Equal(1.0, same, 6);
        Assert.Equal(0.0, rows["same"].GetProperty("lmse").GetDouble());
        Assert.True(other < same - 0.1, $"another person's ID {other} is not clearly below {same}");
        Assert.True(rows["other"].GetProperty("lmse").GetDouble() > 100, "the other person's landmarks should be far off");
        Assert.Equal(2, rows["lost"].GetProperty("reference_faces").GetInt32());
        Assert.False(rows["lost"].GetProperty("restored_face_found").GetBoolean());
        Assert.Equal(FaceMetrics.NoLandmarks, rows["lost"].GetProperty("lmse").GetDouble());
        double meanId = rows.Values.Average(r => r.GetProperty("id").GetDouble());
        Assert.Equal(meanId, doc.RootElement.GetProperty("mean").GetProperty("id").GetDouble(), 12);
    }

    [Fact]
    public void Metrics_with_missing_face_weights_names_the_install_command()
    {
        string reference = Sub("reference"), restored = Sub("restored");
        File.Copy(FaceFixtures.Image("astronaut"), Path.Combine(reference, "a.png"));
        File.Copy(FaceFixtures.Image("astronaut"), Path.Combine(restored, "a.png"));
        var stderr = new StringWriter();
        var saved = Console.Error;
        Console.SetError(stderr);
        try { Assert.Equal(2, Invoke("metrics", "--restored", restored, "--reference", reference, "--face-weights", Sub("empty"))); }
        finally { Console.SetError(saved); }
        Assert.Contains(FaceWeights.InstallCommand, stderr.ToString());
        // Without faces the metrics still run.
        Assert.Equal(0, Invoke("metrics", "--restored", restored, "--reference", reference, "--no-faces"));
    }

    [Fact]
    public void Faces_verb_writes_boxes_landmarks_and_a_drawn_copy()
    {
        string input = Sub("in"), drawn = Path.Combine(_dir.FullName, "drawn"), json = Path.Combine(_dir.FullName, "faces.json");
        string photo = Path.Combine(input, "pair.png");
        File.Copy(FaceFixtures.Image("pair"), photo);
        var before = SHA256.HashData(File.ReadAllBytes(photo));
        Assert.Equal(0, Invoke("faces", photo, "--draw", drawn, "--json", json, "--face-weights", FaceFixtures.WeightsDir));
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(photo)));

        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var faces = doc.RootElement.GetProperty("images")[0].GetProperty("faces").EnumerateArray().ToList();
        var expected = FaceFixtures.Reference("pair").GetProperty("faces").EnumerateArray().ToList();
        Assert.Equal(expected.Count, faces.Count);
        for (int i = 0; i < faces.Count; i++)
        {
            foreach (var field in new[] { "x", "y", "width", "height" })
                Assert.Equal(expected[i].GetProperty("box").GetProperty(field).GetDouble(), faces[i].GetProperty("box").GetProperty(field).GetDouble(), 0.01);
            Assert.Equal(68, faces[i].GetProperty("landmarks").GetArrayLength());
            Assert.Equal(128, faces[i].GetProperty("descriptor").GetArrayLength());
        }

        var original = ImageFile.Read(photo);
        var copy = ImageFile.Read(Path.Combine(drawn, "pair.faces.png"));
        Assert.Equal((original.Width, original.Height), (copy.Width, copy.Height));
        // Pixels change on the drawn boxes and points, and nowhere far outside the face boxes.
        int changed = 0, changedOutside = 0;
        var boxes = faces.Select(f => f.GetProperty("box")).Select(b => new FaceBox(b.GetProperty("x").GetDouble(), b.GetProperty("y").GetDouble(),
            b.GetProperty("width").GetDouble(), b.GetProperty("height").GetDouble())).ToList();
        for (int y = 0; y < original.Height; y++)
            for (int x = 0; x < original.Width; x++)
            {
                int i = (y * original.Width + x) * 3;
                if (original.U8![i] == copy.U8![i] && original.U8[i + 1] == copy.U8[i + 1] && original.U8[i + 2] == copy.U8[i + 2]) continue;
                changed++;
                if (!boxes.Any(b => x >= b.X - 4 && x <= b.Right + 4 && y >= b.Y - 4 && y <= b.Bottom + 4)) changedOutside++;
            }
        Assert.True(changed > 100, $"only {changed} pixels drawn");
        Assert.Equal(0, changedOutside);
    }
}
