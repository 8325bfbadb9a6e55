using System.Text.Json.Nodes;
using PFStorer.Graph.Models;

namespace PFStorer.Graph.Tests.Models;

/// <summary>The stablesr-tiny config.json with edits, loaded through StableSRConfig.Load as a user's file would be.</summary>
internal static class TinyConfig
{
    public const string Model = "model.params";
    public const string UNet = "model.params.unet_config.params";
    public const string TimeAware = "model.params.structcond_stage_config.params";
    public const string FirstStage = "model.params.first_stage_config.params";
    public const string Vae = "model.params.first_stage_config.params.ddconfig";
    public const string Cfw = "vqgan_cfw_model.params";
    public const string CfwVae = "vqgan_cfw_model.params.ddconfig";
    public const string Embedder = "model.params.cond_stage_config.params";
    public const string OpenClip = "open_clip_text_cfg";
    public const string TextCfg = "open_clip_text_cfg.text_cfg";
    /// <summary>The edit value that removes a key.</summary>
    public const string? Remove = null;

    /// <summary>
    /// Each edit sets <c>Key</c> of the object at <c>Section</c> (dotted; "" for the top level) to the JSON <c>Value</c>,
    /// or removes it when that is null.
    /// </summary>
    public static StableSRConfig Load(params (string Section, string Key, string? Value)[] edits)
    {
        string path = Write(Path.Combine(Path.GetTempPath(), $"pfstorer-config-{Guid.NewGuid():N}.json"), edits);
        try { return StableSRConfig.Load(path); }
        finally { File.Delete(path); }
    }

    /// <summary>Writes the edited config to <paramref name="path"/>.</summary>
    public static string Write(string path, params (string Section, string Key, string? Value)[] edits)
    {
        var root = JsonNode.Parse(File.ReadAllText(Fixtures.Path("stablesr-tiny", "config.json")))!;
        foreach (var (section, key, value) in edits)
        {
            var target = (section.Length == 0 ? root : section.Split('.').Aggregate(root, (node, k) => node[k]!)).AsObject();
            if (value == null) target.Remove(key);
            else target[key] = JsonNode.Parse(value);
        }
        File.WriteAllText(path, root.ToJsonString());
        return path;
    }
}
