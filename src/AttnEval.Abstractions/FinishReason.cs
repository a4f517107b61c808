namespace AttnEval.Abstractions;

/// <summary>Why a sequence ended.</summary>
public enum FinishReason
{
    /// <summary>A stop token was produced.</summary>
    StopToken,
    /// <summary>A stop string appeared.</summary>
    StopString,
    /// <summary><see cref="GenerationRequest.MaxNewTokens"/> was reached.</summary>
    Length,
    /// <summary>The model's context is full.</summary>
    ContextFull,
}
