// The dashboard's shell: hash routes (`#/` the job list, `#/jobs/<jid>` a job, `#/taskmanagers`
// and `#/taskmanagers/<id>` a cluster's TaskManagers), the header, and the token form shown when
// the REST server answers 401.

import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { adoptTokenFromUrl, setToken } from "./api.ts";
import { JobList } from "./job-list.tsx";
import { JobPage } from "./job-page.tsx";
import { TaskManagerList, TaskManagerPage } from "./taskmanagers.tsx";

function currentRoute(): string {
  return window.location.hash.replace(/^#/, "") || "/";
}

function TokenForm({ onDone }: { onDone: () => void }) {
  const [value, setValue] = useState("");
  return (
    <form
      class="token-form"
      onSubmit={(e) => {
        e.preventDefault();
        setToken(value);
        onDone();
      }}
    >
      <p>This REST server requires a token. It is kept in this tab's session storage only.</p>
      <input
        type="password"
        name="token"
        placeholder="token"
        autoComplete="off"
        value={value}
        onInput={(e) => setValue((e.target as HTMLInputElement).value)}
      />
      <button type="submit">Sign in</button>
    </form>
  );
}

function App() {
  const [route, setRoute] = useState(currentRoute());
  const [needToken, setNeedToken] = useState(false);
  // Bumped after signing in: the pages start polling again.
  const [session, setSession] = useState(0);
  useEffect(() => {
    const onHash = () => setRoute(currentRoute());
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);
  const jobMatch = /^\/jobs\/([^/]+)/.exec(route);
  const tmMatch = /^\/taskmanagers(?:\/([^/]+))?/.exec(route);
  const onTokenRequired = () => setNeedToken(true);
  return (
    <>
      <header class="top">
        <a href="#/" class="brand">
          Weir
        </a>
        <span class="subtitle">stream processing dashboard</span>
        <nav class="top-nav">
          <a href="#/">Jobs</a> <a href="#/taskmanagers">TaskManagers</a>
        </nav>
      </header>
      <main>
        {needToken ? (
          <TokenForm
            onDone={() => {
              setNeedToken(false);
              setSession((s) => s + 1);
            }}
          />
        ) : tmMatch !== null && tmMatch[1] !== undefined ? (
          <TaskManagerPage
            key={`${tmMatch[1]}/${session}`}
            id={decodeURIComponent(tmMatch[1])}
            onTokenRequired={onTokenRequired}
          />
        ) : tmMatch !== null ? (
          <TaskManagerList key={session} onTokenRequired={onTokenRequired} />
        ) : jobMatch !== null ? (
          <JobPage key={`${jobMatch[1]}/${session}`} jid={jobMatch[1]!} onTokenRequired={onTokenRequired} />
        ) : (
          <JobList key={session} onTokenRequired={onTokenRequired} />
        )}
      </main>
    </>
  );
}

adoptTokenFromUrl();
render(<App />, document.getElementById("app")!);
