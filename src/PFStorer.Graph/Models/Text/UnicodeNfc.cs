using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace PFStorer.Graph.Models;

/// <summary>
/// Unicode Normalization Form C (UAX #15: full canonical decomposition, canonical ordering, canonical composition)
/// from an embedded table of the Unicode 15.0 character database. The project runs with invariant globalization,
/// where string.Normalize does not normalise, and a fixed table keeps tokenization independent of the host's ICU.
/// The table and how it is made: docs/tokenizer.md.
/// </summary>
internal static class UnicodeNfc
{
    private const string ResourceName = "PFStorer.Graph.nfc_table.txt.gz";

    // Hangul syllables compose and decompose arithmetically (Unicode §3.12).
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private sealed record Tables(Dictionary<int, int> CombiningClass, Dictionary<int, int[]> Decomposition, Dictionary<(int, int), int> Composition);

    private static readonly Lazy<Tables> Data = new(Load);

    public static string Normalize(string text)
    {
        // Below U+0300 every character is its own NFC form and none of them combines with its neighbours.
        if (text.All(c => c < '\u0300')) return text;
        var codes = new List<int>(text.Length);
        foreach (var rune in text.EnumerateRunes()) Decompose(rune.Value, codes);
        SortMarks(codes);
        var composed = Compose(codes);
        var sb = new StringBuilder(text.Length);
        foreach (int c in composed) sb.Append(char.ConvertFromUtf32(c));
        return sb.ToString();
    }

    private static int Ccc(int code) => Data.Value.CombiningClass.GetValueOrDefault(code);

    private static void Decompose(int code, List<int> into)
    {
        if (code is >= SBase and < SBase + SCount)
        {
            int s = code - SBase;
            into.Add(LBase + s / NCount);
            into.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) into.Add(TBase + s % TCount);
        }
        else if (Data.Value.Decomposition.TryGetValue(code, out var parts))
            foreach (int p in parts) Decompose(p, into);
        else into.Add(code);
    }

    /// <summary>Canonical ordering: within each run of combining marks, a stable sort by combining class.</summary>
    private static void SortMarks(List<int> codes)
    {
        for (int i = 1; i < codes.Count; i++)
        {
            int ccc = Ccc(codes[i]);
            if (ccc == 0) continue;
            for (int j = i; j > 0 && Ccc(codes[j - 1]) > ccc; j--) (codes[j - 1], codes[j]) = (codes[j], codes[j - 1]);
        }
    }

    /// <summary>Canonical composition: each character joins the last starter unless a mark of the same or higher class sits between them.</summary>
    private static List<int> Compose(List<int> codes)
    {
        var result = new List<int>(codes.Count);
        int starter = -1, lastCcc = 0;
        foreach (int code in codes)
        {
            int ccc = Ccc(code);
            bool adjacent = starter == result.Count - 1;
            if (starter >= 0 && (adjacent || (lastCcc != 0 && lastCcc < ccc)) && TryCompose(result[starter], code, out int composite))
            {
                result[starter] = composite;
                continue;
            }
            if (ccc == 0) starter = result.Count;
            lastCcc = ccc;
            result.Add(code);
        }
        return result;
    }

    private static bool TryCompose(int first, int second, out int composite)
    {
        if (first is >= LBase and < LBase + LCount && second is >= VBase and < VBase + VCount)
        {
            composite = SBase + ((first - LBase) * VCount + second - VBase) * TCount;
            return true;
        }
        if (first is >= SBase and < SBase + SCount && (first - SBase) % TCount == 0 && second is > TBase and < TBase + TCount)
        {
            composite = first + second - TBase;
            return true;
        }
        return Data.Value.Composition.TryGetValue((first, second), out composite);
    }

    /// <summary>Lines "code;ccc;decomposition;excluded" in hex (tools/unicode/make_nfc_table.py).</summary>
    private static Tables Load()
    {
        using var stream = typeof(UnicodeNfc).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing from {typeof(UnicodeNfc).Assembly.GetName().Name}");
        using var reader = new StreamReader(new GZipStream(stream, CompressionMode.Decompress), Encoding.UTF8);
        var ccc = new Dictionary<int, int>();
        var decomposition = new Dictionary<int, int[]>();
        var composition = new Dictionary<(int, int), int>();
        static int Hex(string s) => int.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        while (reader.ReadLine() is { } line)
        {
            if (line.StartsWith('#')) continue;
            var f = line.Split(';');
            if (f.Length != 4) throw new InvalidDataException($"{ResourceName}: malformed line '{line}'");
            int code = Hex(f[0]);
            if (Hex(f[1]) is int c and not 0) ccc[code] = c;
            if (f[2].Length == 0) continue;
            var parts = f[2].Split(' ').Select(Hex).ToArray();
            decomposition[code] = parts;
            if (f[3] == "0" && parts.Length == 2) composition[(parts[0], parts[1])] = code;
        }
        return new Tables(ccc, decomposition, composition);
    }
}
