using System.Security.Cryptography;
using System.Text;
using PFStorer.Graph.Models;

namespace PFStorer.Graph.Personalization;

/// <summary>
/// Which base model an identity was learned on (docs/identity-files.md): SHA-256 over the sorted "name:shape" lines of
/// every base parameter (UNet, time-aware encoder, VAE, text encoder), personalization blocks excluded, shortened to 16
/// hex digits. It tells architectures and widths apart; two checkpoints of one architecture with other values share it.
/// </summary>
public static class BaseFingerprint
{
    public static string Of(LatentDiffusionSRTextWT model)
    {
        var lines = model.NamedParameters()
            .Where(p => !p.Path.Contains(".personalization.", StringComparison.Ordinal))
            .Select(p => $"{p.Path}:{p.Param.ShapeString}")
            .Order(StringComparer.Ordinal);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', lines)));
        return Convert.ToHexStringLower(hash, 0, 8);
    }
}
