namespace AttnEval.Abstractions;

/// <summary>The recipe sections a <see cref="IRecipeKind"/> uses (flags). A section the kind does not use is refused in its
/// recipes with a message naming the line, so a recipe never carries settings that silently do nothing.</summary>
[Flags]
public enum RecipeKindInputs
{
    /// <summary>Only <c>model</c> and <c>analysis</c>.</summary>
    None = 0,
    /// <summary>The recipe must name a <c>dataset</c>; its items reach the run as <see cref="RecipeKindContext.Samples"/>.</summary>
    Dataset = 1,
    /// <summary>The recipe may give a <c>prompt</c> (template, chat format, system message), applied by
    /// <see cref="RecipeKindContext.RenderPrompt"/>.</summary>
    Prompt = 2,
    /// <summary>The recipe may list <c>metrics</c> the kind <see cref="IRecipeKind.Accepts"/>; they reach the run as
    /// <see cref="RecipeKindContext.Metrics"/>.</summary>
    Metrics = 4,
    /// <summary>The recipe may name a <c>judge</c>; it reaches the run as <see cref="RecipeKindContext.Judge"/>.</summary>
    Judge = 8,
    /// <summary>The kind decodes as <c>generation.temperature</c>, <c>top_p</c> and <c>top_k</c> say
    /// (<see cref="RecipeKindContext.Sampling"/>). Without it those keys are refused. <c>max_new_tokens</c>, <c>stop</c> and
    /// <c>seed</c> are always available; <c>samples</c>, <c>sample_temperature</c> and <c>batch_size</c> never reach a plugin kind
    /// and are refused.</summary>
    Sampling = 16,
}
