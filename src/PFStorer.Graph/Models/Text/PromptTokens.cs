namespace PFStorer.Graph.Models;

/// <summary>
/// A tokenized personalization prompt: its <see cref="SimpleTokenizer.ContextLength"/> ids, the index of the first
/// placeholder token (−1 when the prompt has none, or it was cut off) and of the first end-of-text token. The
/// personalization mask reads the text cross-attention at these two rows.
/// </summary>
public sealed record PromptTokens(long[] Ids, int PlaceholderIndex, int EndIndex);
