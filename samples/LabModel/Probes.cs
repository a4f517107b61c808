namespace AttnEval.Samples.LabModel;

/// <summary>What the probes before the shipped run measured (written into the model card).</summary>
internal static class Probes
{
    public static readonly string[] Notes =
    [
        "(to be filled in)",
    ];
}
