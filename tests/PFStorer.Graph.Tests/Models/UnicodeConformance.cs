using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace PFStorer.Graph.Tests.Models;

/// <summary>The Unicode 15.0 normalization conformance file NormalizationTest.txt of the fixtures.</summary>
internal static class UnicodeConformance
{
    /// <summary>Each test line: its five columns c1…c5 (source, NFC, NFD, NFKC, NFKD) as text.</summary>
    public static IEnumerable<string[]> Lines()
    {
        using var file = File.OpenRead(Fixtures.Path("unicode", "NormalizationTest-15.0.0.txt.gz"));
        using var reader = new StreamReader(new GZipStream(file, CompressionMode.Decompress), Encoding.UTF8);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] is '#' or '@') continue;
            yield return line.Split(';')[..5].Select(Text).ToArray();
        }
    }

    /// <summary>
    /// NFD of <paramref name="text"/>, one character at a time from the file's per-character lines (string.Normalize
    /// does not normalise under the project's invariant globalization). Enough for text whose marks are already in
    /// canonical order, such as any NFC text.
    /// </summary>
    public static string Decompose(string text)
    {
        var nfd = Lines().Where(c => c[0].EnumerateRunes().Count() == 1).DistinctBy(c => c[0]).ToDictionary(c => c[0], c => c[2]);
        return string.Concat(text.EnumerateRunes().Select(r => nfd.GetValueOrDefault(r.ToString(), r.ToString())));
    }

    public static string Hex(string s) => string.Join(' ', s.EnumerateRunes().Select(r => r.Value.ToString("X4", CultureInfo.InvariantCulture)));

    private static string Text(string hexCodes) => string.Concat(hexCodes.Split(' ')
        .Select(h => char.ConvertFromUtf32(int.Parse(h, NumberStyles.HexNumber, CultureInfo.InvariantCulture))));
}
