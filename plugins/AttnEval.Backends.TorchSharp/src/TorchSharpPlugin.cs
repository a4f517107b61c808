using AttnEval.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace AttnEval.Backends.TorchSharp;

/// <summary>Plugin entry point: registers the <c>torchsharp</c> <see cref="IModelBackend"/> (<see cref="TorchSharpBackend"/>).</summary>
public sealed class TorchSharpPlugin : IAttnEvalPlugin
{
    /// <inheritdoc />
    public string Name => "AttnEval.Backends.TorchSharp";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services) => services.AddSingleton<IModelBackend, TorchSharpBackend>();
}
