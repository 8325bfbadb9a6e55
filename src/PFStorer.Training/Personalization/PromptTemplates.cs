namespace PFStorer.Training.Personalization;

/// <summary>
/// Training prompts, one drawn per iteration (docs/identity-files.md, "Data"): face-appropriate variants of the
/// textual-inversion templates, each holding the placeholder `*` once.
/// </summary>
public static class PromptTemplates
{
    public static IReadOnlyList<string> Face { get; } =
    [
        "a photo of *",
        "a portrait of *",
        "a close-up photo of *",
        "a photo of the face of *",
        "a cropped photo of *",
        "a good photo of *",
        "a clear photo of *",
        "a headshot of *",
    ];
}
