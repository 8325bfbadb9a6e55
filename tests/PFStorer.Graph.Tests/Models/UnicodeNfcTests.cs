using PFStorer.Graph.Models;
using Xunit;

namespace PFStorer.Graph.Tests.Models;

/// <summary>The tokenizer's NFC against the Unicode 15.0 conformance file NormalizationTest.txt (every line, exact).</summary>
public sealed class UnicodeNfcTests
{
    /// <summary>The conformance rule for NFC: c2 = NFC(c1) = NFC(c2) = NFC(c3) and c4 = NFC(c4) = NFC(c5).</summary>
    [Fact]
    public void MatchesTheUnicodeConformanceTest()
    {
        int lines = 0;
        var failures = new List<string>();
        foreach (var c in UnicodeConformance.Lines())
        {
            lines++;
            foreach (var (input, expected) in new[] { (0, 1), (1, 1), (2, 1), (3, 3), (4, 3) })
                if (UnicodeNfc.Normalize(c[input]) != c[expected] && failures.Count < 10)
                    failures.Add($"NFC(c{input + 1} {UnicodeConformance.Hex(c[input])}) = {UnicodeConformance.Hex(UnicodeNfc.Normalize(c[input]))}, expected {UnicodeConformance.Hex(c[expected])}");
        }
        Assert.True(lines > 19_000, $"only {lines} conformance lines read");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
