using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace PFStorer.Graph.Models;

/// <summary>
/// OpenCLIP's SimpleTokenizer (open_clip 2.0.2, the byte-level BPE of CLIP) with the merges of
/// bpe_simple_vocab_16e6.txt.gz, embedded in this assembly. <see cref="Tokenize"/> is open_clip.tokenize:
/// [sot] + BPE ids + [eot], truncated to the context length with the last id forced to eot, zero-padded.
/// <see cref="TokenizeWithPlaceholder"/> is the personalization variant where `*` is always a token of its own.
/// What of upstream's text cleaning (ftfy, html unescaping) is reproduced, and what is not: docs/tokenizer.md.
/// </summary>
public sealed class SimpleTokenizer
{
    public const string StartOfText = "<start_of_text>", EndOfText = "<end_of_text>";
    /// <summary>The character that marks where a personalization prompt's learned identity token goes.</summary>
    public const char Placeholder = '*';
    public const int ContextLength = 77;
    private const string ResourceName = "PFStorer.Graph.bpe_simple_vocab_16e6.txt.gz";
    private const int MergeCount = 49152 - 256 - 2;

    private static readonly Lazy<SimpleTokenizer> DefaultInstance = new(() => new SimpleTokenizer());

    private readonly string[] _byteEncoder = ByteToUnicode();
    private readonly Dictionary<string, int> _encoder = [];
    private readonly Dictionary<(string, string), int> _bpeRanks = [];
    private readonly ConcurrentDictionary<string, string[]> _cache = new();
    private readonly Regex _pattern;

    public int StartId { get; }
    public int EndId { get; }
    /// <summary>The id of <see cref="Placeholder"/> as a word on its own ("*" with its word end), what a prompt's `*` becomes.</summary>
    public int PlaceholderId { get; }
    public int VocabSize => _encoder.Count;

    public static SimpleTokenizer Default => DefaultInstance.Value;

    private SimpleTokenizer()
    {
        using var stream = typeof(SimpleTokenizer).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing from {typeof(SimpleTokenizer).Assembly.GetName().Name}");
        using var gz = new GZipStream(stream, CompressionMode.Decompress);
        using var reader = new StreamReader(gz, Encoding.UTF8);
        var lines = reader.ReadToEnd().Split('\n');
        if (lines.Length < MergeCount + 1) throw new InvalidDataException($"{ResourceName}: {lines.Length} lines, expected a header and {MergeCount} merges");

        // Upstream lists the byte symbols in bytes_to_unicode's insertion order: printable bytes first, then the rest.
        var symbols = Enumerable.Range(0, 256).OrderBy(b => IsPrintable(b) ? 0 : 1).Select(b => _byteEncoder[b]).ToList();
        var vocab = new List<string>(symbols);
        vocab.AddRange(symbols.Select(s => s + "</w>"));
        for (int i = 0; i < MergeCount; i++)
        {
            var pair = lines[i + 1].Split(' ');
            if (pair.Length != 2) throw new InvalidDataException($"{ResourceName}: line {i + 2} is not a merge pair");
            _bpeRanks[(pair[0], pair[1])] = i;
            vocab.Add(pair[0] + pair[1]);
        }
        vocab.Add(StartOfText);
        vocab.Add(EndOfText);
        for (int i = 0; i < vocab.Count; i++) _encoder[vocab[i]] = i;
        StartId = _encoder[StartOfText];
        EndId = _encoder[EndOfText];
        PlaceholderId = _encoder[_byteEncoder[Placeholder] + "</w>"];
        _cache[StartOfText] = [StartOfText];
        _cache[EndOfText] = [EndOfText];
        _pattern = new Regex($@"{StartOfText}|{EndOfText}|'s|'t|'re|'ve|'m|'ll|'d|[\p{{L}}]+|[\p{{N}}]|[^\s\p{{L}}\p{{N}}]+",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled);
    }

    /// <summary>open_clip.tokenize of one text: <see cref="ContextLength"/> ids.</summary>
    public long[] Tokenize(string text) => Frame(Encode(text));

    /// <summary>
    /// A personalization prompt's ids, where every `*` is a token of its own even when BPE would glue it to its
    /// neighbours ("*," is one BPE token): the text is split at `*`, each part encoded as by <see cref="Encode"/>, and
    /// <see cref="PlaceholderId"/> put between the parts; framing as <see cref="Tokenize"/> (docs/tokenizer.md).
    /// </summary>
    public PromptTokens TokenizeWithPlaceholder(string text)
    {
        var bpe = new List<int>();
        var parts = text.Split(Placeholder);
        for (int i = 0; i < parts.Length; i++)
        {
            if (i > 0) bpe.Add(PlaceholderId);
            bpe.AddRange(Encode(parts[i]));
        }
        var ids = Frame(bpe);
        return new PromptTokens(ids, Array.IndexOf(ids, (long)PlaceholderId), Array.IndexOf(ids, (long)EndId));
    }

    /// <summary>[sot] + <paramref name="bpe"/> + [eot], cut to <see cref="ContextLength"/> with the last id forced to eot, zero-padded.</summary>
    private long[] Frame(List<int> bpe)
    {
        var ids = new long[ContextLength];
        int n = Math.Min(bpe.Count, ContextLength - 2);
        ids[0] = StartId;
        for (int i = 0; i < n; i++) ids[i + 1] = bpe[i];
        ids[n + 1] = EndId;
        return ids;
    }

    /// <summary>
    /// The ids [B,77] (int64) of several texts, as the text encoder takes them; <paramref name="placeholderRule"/>
    /// tokenizes them as <see cref="TokenizeWithPlaceholder"/> does.
    /// </summary>
    public Tensor TokenizeBatch(IReadOnlyList<string> texts, Device? device = null, bool placeholderRule = false)
    {
        var all = new long[texts.Count * ContextLength];
        for (int i = 0; i < texts.Count; i++)
            (placeholderRule ? TokenizeWithPlaceholder(texts[i]).Ids : Tokenize(texts[i])).CopyTo(all, i * ContextLength);
        return Tensor.FromSpan<long>(all, Kernels.DType.I64, [texts.Count, ContextLength], device);
    }

    /// <summary>SimpleTokenizer.encode: BPE ids of the cleaned text, without the special start/end tokens.</summary>
    public List<int> Encode(string text)
    {
        var ids = new List<int>();
        foreach (Match m in _pattern.Matches(Clean(text)))
        {
            var bytes = Encoding.UTF8.GetBytes(m.Value);
            var token = string.Concat(bytes.Select(b => _byteEncoder[b]));
            foreach (var piece in Bpe(token)) ids.Add(_encoder[piece]);
        }
        return ids;
    }

    /// <summary>
    /// basic_clean then whitespace_clean, lower-cased: html-unescape twice, Unicode NFC (the part of ftfy.fix_text that
    /// matters for typed prompts; applied after unescaping, so entities of combining marks compose too), strip,
    /// collapse whitespace. docs/tokenizer.md lists what of ftfy is left out.
    /// </summary>
    public static string Clean(string text)
    {
        text = UnicodeNfc.Normalize(WebUtility.HtmlDecode(WebUtility.HtmlDecode(text))).Trim();
        return Regex.Replace(text, @"\s+", " ").Trim().ToLowerInvariant();
    }

    private string[] Bpe(string token) => _cache.GetOrAdd(token, t =>
    {
        var word = t.Select(c => c.ToString()).ToList();
        word[^1] += "</w>";
        while (word.Count > 1)
        {
            // The adjacent pair with the lowest merge rank; stop when no pair is a known merge.
            (string, string)? best = null;
            int bestRank = int.MaxValue;
            for (int i = 0; i + 1 < word.Count; i++)
                if (_bpeRanks.TryGetValue((word[i], word[i + 1]), out int rank) && rank < bestRank)
                {
                    bestRank = rank;
                    best = (word[i], word[i + 1]);
                }
            if (best is not var (first, second)) break;
            var merged = new List<string>(word.Count);
            for (int i = 0; i < word.Count; i++)
            {
                if (i + 1 < word.Count && word[i] == first && word[i + 1] == second)
                {
                    merged.Add(first + second);
                    i++;
                }
                else merged.Add(word[i]);
            }
            word = merged;
        }
        return [.. word];
    });

    /// <summary>GPT-2's reversible byte → printable character map (bytes_to_unicode).</summary>
    private static string[] ByteToUnicode()
    {
        var map = new string[256];
        int n = 0;
        for (int b = 0; b < 256; b++) map[b] = ((char)(IsPrintable(b) ? b : 256 + n++)).ToString();
        return map;
    }

    private static bool IsPrintable(int b) => b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
}
