using Microsoft.Extensions.DependencyInjection;

namespace AttnEval.Abstractions;

/// <summary>Version of the plugin contract. A plugin compiled against another major version, or against a newer minor
/// version than the host's ("built against AttnEval.Abstractions 1.2, host has 1.1"), is refused with a clear error; one
/// compiled against an older minor version of the same major loads.</summary>
public static class ContractVersion
{
    /// <summary>The contract's major version; equals the major of this assembly's version.</summary>
    public static int Major => typeof(ContractVersion).Assembly.GetName().Version!.Major;
}
