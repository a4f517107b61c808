namespace AttnEval.Abstractions;

/// <summary>Factory of a correctness judge.</summary>
public interface IJudgeFactory : IComponentFactory
{
    /// <summary>Creates the judge with validated options.</summary>
    ICorrectnessJudge Create(OptionValues options);
}
