// canh-agent-service.exe: the Windows service wrapper of canh-agent.exe.
// Why it exists: a Windows service must answer the Service Control Manager (SCM) within
// 30 s of starting and on every stop request. canh-agent.exe is a Node single executable,
// and Node does not speak the SCM protocol, so the SCM talks to this wrapper instead.
// It runs the agent as a child process, appends the agent's output to a log file, and on
// stop closes the agent's standard input (the agent, started with
// CANH_AGENT_STOP_ON_STDIN_EOF=1, then flushes its batcher and exits in order); only if
// the agent has not exited after 25 s is it killed. An agent that exits by itself makes
// the service stop with an error code, so the SCM's failure actions restart it.
//
// Built by deploy/install.ps1 with the C# compiler of .NET Framework 4, present on every
// supported Windows:  csc.exe /target:exe /out:canh-agent-service.exe
//   /reference:System.ServiceProcess.dll CanhAgentService.cs
// Command line (set by `canh-agent service install`):
//   canh-agent-service.exe <log file> <canh-agent.exe> run --config <agent.yaml>
using System;
using System.Diagnostics;
using System.IO;
using System.ServiceProcess;
using System.Text;

public class CanhAgentService : ServiceBase
{
    const long RotateBytes = 10L * 1024 * 1024;
    readonly string logPath;
    readonly string exe;
    readonly string args;
    Process child;
    StreamWriter log;
    readonly object gate = new object();
    bool stopping;

    public CanhAgentService(string[] argv)
    {
        ServiceName = "CanhAgent";
        CanStop = true;
        CanShutdown = true;
        logPath = argv[0];
        exe = argv[1];
        var sb = new StringBuilder();
        for (int i = 2; i < argv.Length; i++)
        {
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(Quote(argv[i]));
        }
        args = sb.ToString();
    }

    static string Quote(string s)
    {
        if (s.Length > 0 && s.IndexOfAny(new[] { ' ', '\t', '"' }) < 0) return s;
        return "\"" + s.Replace("\"", "\\\"") + "\"";
    }

    void Write(string line)
    {
        if (line == null) return;
        lock (gate)
        {
            if (log == null) return;
            log.WriteLine(line);
            log.Flush();
        }
    }

    protected override void OnStart(string[] startArgs)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(logPath));
        // One old log is kept: the agent's own log lines are JSON and say everything else.
        if (File.Exists(logPath) && new FileInfo(logPath).Length > RotateBytes)
        {
            File.Copy(logPath, logPath + ".1", true);
            File.Delete(logPath);
        }
        log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite), new UTF8Encoding(false));
        var psi = new ProcessStartInfo(exe, args)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
            WorkingDirectory = Path.GetDirectoryName(exe),
        };
        psi.EnvironmentVariables["CANH_AGENT_STOP_ON_STDIN_EOF"] = "1";
        child = new Process { StartInfo = psi, EnableRaisingEvents = true };
        child.OutputDataReceived += (s, e) => Write(e.Data);
        child.ErrorDataReceived += (s, e) => Write(e.Data);
        child.Exited += (s, e) =>
        {
            if (stopping) return;
            // The agent stopped on its own (bad config, crash): report a failure so the
            // service's recovery actions (sc.exe failure ... restart/5000) restart it.
            Write("canh-agent-service: canh-agent exited with code " + child.ExitCode);
            ExitCode = child.ExitCode == 0 ? 1 : child.ExitCode;
            Stop();
        };
        child.Start();
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        Write("canh-agent-service: started " + exe + " " + args + " (pid " + child.Id + ")");
    }

    protected override void OnStop()
    {
        stopping = true;
        if (child != null && !child.HasExited)
        {
            RequestAdditionalTime(30000);
            try { child.StandardInput.Close(); } catch (Exception) { }
            if (!child.WaitForExit(25000))
            {
                Write("canh-agent-service: canh-agent did not stop within 25 s; killing it");
                try { child.Kill(); } catch (Exception) { }
            }
        }
        Write("canh-agent-service: stopped");
        lock (gate) { if (log != null) { log.Dispose(); log = null; } }
    }

    protected override void OnShutdown()
    {
        OnStop();
    }

    public static int Main(string[] argv)
    {
        if (argv.Length < 2)
        {
            Console.Error.WriteLine("usage: canh-agent-service.exe <log file> <canh-agent.exe> [agent arguments...]");
            Console.Error.WriteLine("This program is started by the Windows service manager (service CanhAgent).");
            return 2;
        }
        ServiceBase.Run(new CanhAgentService(argv));
        return 0;
    }
}
