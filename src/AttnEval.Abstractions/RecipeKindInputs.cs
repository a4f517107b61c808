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
}
