using System.Text;

namespace PFStorer.Restore;

/// <summary>Text from files (tensor names, metadata) made safe to print: control characters become \u escapes, so a name cannot clear the screen or fake lines.</summary>
internal static class TerminalText
{
    public static string Escape(string text)
    {
        if (!text.Any(c => char.IsControl(c) || c is '\u2028' or '\u2029')) return text;
        var sb = new StringBuilder(text.Length + 16);
        foreach (char c in text)
            if (char.IsControl(c) || c is '\u2028' or '\u2029') sb.Append($"\\u{(int)c:x4}");
            else sb.Append(c);
        return sb.ToString();
    }
}
