namespace OnnxRev.Tests.Support;

/// <summary>Locates the repository from the test output folder.</summary>
internal static class RepoPaths
{
    /// <summary>The folder holding OnnxRev.sln, found by walking up from the test directory.</summary>
    public static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "OnnxRev.sln"))) return dir.FullName;
            }
            throw new InvalidOperationException($"No OnnxRev.sln above {TestContext.CurrentContext.TestDirectory}.");
        }
    }

    /// <summary>The ONNX conformance data fetched by tools/fetch-testdata.sh.</summary>
    public static string OnnxTestData => Path.Combine(Root, ".cache", "libonnx-testdata");

    /// <summary>The folder of one node test, e.g. <c>NodeTest("test_add")</c>; the test is ignored when the data is absent.</summary>
    public static string NodeTest(string name)
    {
        string dir = Path.Combine(OnnxTestData, "node", name);
        if (!Directory.Exists(dir)) Assert.Ignore($"ONNX test data not found at {dir}; run tools/fetch-testdata.sh.");
        return dir;
    }
}
