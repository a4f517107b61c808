using AttnEval.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace AttnEval.Backends.Onnx;

/// <summary>Plugin entry point: registers the <c>onnx</c> <see cref="IModelBackend"/> (<see cref="OnnxBackend"/>).</summary>
public sealed class OnnxPlugin : IAttnEvalPlugin
{
    /// <inheritdoc />
    public string Name => "AttnEval.Backends.Onnx";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services) => services.AddSingleton<IModelBackend, OnnxBackend>();
}
