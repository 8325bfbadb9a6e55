namespace PFStorer.Graph.Checkpoints;

/// <summary>
/// Text key lists, one "key [d0,d1,...]" per line (as tests/fixtures/spec/stablesr_keys.txt lists the official
/// layout): an architecture's expected keys written down, usable by `weights verify --expect` before the model classes exist.
/// </summary>
public static class KeyList
{
    public static List<KeyShape> Read(string path)
    {
        var keys = new List<KeyShape>();
        int lineNo = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            int space = line.IndexOf(' ');
            if (space < 0 || line[^1] != ']' || line[space + 1] != '[')
                throw new CheckpointFormatException(path, $"line {lineNo} is not 'key [d0,d1,...]': {line}");
            var dims = line[(space + 2)..^1];
            int[] shape;
            try { shape = dims.Length == 0 ? [] : dims.Split(',').Select(d => int.Parse(d.Trim(), System.Globalization.CultureInfo.InvariantCulture)).ToArray(); }
            catch (Exception e) when (e is FormatException or OverflowException) { shape = [-1]; }
            if (shape.Any(d => d < 0)) throw new CheckpointFormatException(path, $"line {lineNo} has a bad shape: {line}");
            keys.Add(new KeyShape(line[..space], shape));
        }
        return keys;
    }
}
