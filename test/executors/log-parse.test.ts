// Typing of build output lines and the parsing of PODMAN_HOST, without a Podman service.
import assert from 'node:assert/strict';
import { connectionOptions } from '../../executors/podman/config.js';
import { cleanErrorMessage, JsonLineSplitter, progressToLines, typeLine } from '../../executors/podman/log-parse.js';

describe('podman executor: log lines', () => {
  it("types Podman's and Docker's step lines as commands", () => {
    assert.deepEqual(typeLine('STEP 2/5: RUN echo hi'), { type: 'command', message: 'STEP 2/5: RUN echo hi', data: { step: 2, total: 5, command: 'RUN echo hi' } });
    assert.deepEqual(typeLine('Step 3/4 : COPY . /app'), { type: 'command', message: 'Step 3/4 : COPY . /app', data: { step: 3, total: 4, command: 'COPY . /app' } });
    assert.equal(typeLine('hello STEP 1/2: not a step').type, 'plain');
    assert.equal(typeLine('--> Using cache 3bf61fa5813c').type, 'plain');
  });

  it('splits a stream object into lines and types errors', () => {
    assert.deepEqual(progressToLines({ stream: 'STEP 1/2: FROM x\nTrying to pull x...\n' }).map((l) => l.type), ['command', 'plain']);
    assert.deepEqual(progressToLines({ stream: '\n' }), []);
    assert.deepEqual(progressToLines({ errorDetail: { message: 'building at STEP "RUN false": exit status 1\n' }, error: 'x' }), [
      { type: 'error', message: 'building at STEP "RUN false": exit status 1' },
    ]);
    assert.deepEqual(progressToLines({ status: 'v1: digest: sha256:abc size: 735' }), [{ type: 'plain', message: 'v1: digest: sha256:abc size: 735' }]);
    assert.equal(cleanErrorMessage('Build error: Unknown instruction: "FOO" &imagebuilder.Step{Env:[]string{}}\n'), 'Build error: Unknown instruction: "FOO"');
  });

  it('reassembles JSON objects split across chunks and glued on one line', () => {
    const s = new JsonLineSplitter();
    assert.deepEqual(s.push('{"stream":"a\\n"}\n{"str'), [{ stream: 'a\n' }]);
    assert.deepEqual(s.push('eam":"b\\n"}{"aux":{"ID":"sha256:1"}}\n'), [{ stream: 'b\n' }, { aux: { ID: 'sha256:1' } }]);
    assert.deepEqual(s.push('{"stream":"c"}'), []);
    assert.deepEqual(s.end(), [{ stream: 'c' }]);
  });

  it('reads PODMAN_HOST', () => {
    assert.deepEqual(connectionOptions('unix:///run/podman/podman.sock'), { socketPath: '/run/podman/podman.sock' });
    assert.deepEqual(connectionOptions('tcp://10.0.0.5:8888'), { protocol: 'http', host: '10.0.0.5', port: 8888 });
    const ssh = connectionOptions('ssh://builder@build-1.example:2222');
    assert.equal(ssh.protocol, 'ssh');
    assert.equal(ssh.host, 'build-1.example');
    assert.equal(ssh.port, 2222);
    assert.equal(ssh.username, 'builder');
    assert.throws(() => connectionOptions('http://x'), /unsupported PODMAN_HOST/);
  });
});
