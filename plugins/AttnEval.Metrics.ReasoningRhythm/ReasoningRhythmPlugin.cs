using AttnEval.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace AttnEval.Metrics.ReasoningRhythm;

/// <summary>Registers the <c>reasoning-rhythm</c> recipe kind (<see cref="ReasoningRhythmKind"/>, contract 1.5).</summary>
public sealed class ReasoningRhythmPlugin : IAttnEvalPlugin
{
    /// <inheritdoc />
    public string Name => "reasoning-rhythm";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services) => services.AddSingleton<IRecipeKind, ReasoningRhythmKind>();
}
