import { strict as assert } from 'node:assert';
import { queuedDifferently } from '../../shared/devops/run-match';

describe('recognising the run a crashed step queued (queuedDifferently)', () => {
  const sent = { parameters: { suite: 'full', browsers: '["chrome","edge"]', retries: '2', dryRun: 'false' }, branch: 'main' };

  it('takes a run echoing the same parameters, however the service spells them', () => {
    const echoed = { suite: 'full', Browsers: '[ "chrome", "edge" ]', retries: '2.0', dryRun: 'False', extra: 'default' };
    assert.equal(queuedDifferently({ templateParameters: echoed, sourceBranch: 'refs/heads/main' }, sent), undefined);
  });

  it('takes a run that echoes no parameters or branch (nothing tells it apart)', () => {
    assert.equal(queuedDifferently({}, sent), undefined);
    assert.equal(queuedDifferently({ templateParameters: { other: 'x' } }, sent), undefined);
  });

  it('refuses a run with a different value of a parameter the step sent, naming it', () => {
    assert.equal(
      queuedDifferently({ templateParameters: { suite: 'smoke' } }, sent),
      `its parameter 'suite' has another value than this step sends`,
    );
    assert.match(queuedDifferently({ templateParameters: { browsers: '["chrome"]' } }, sent) ?? '', /parameter 'browsers'/);
  });

  it('refuses a run queued on another branch than the one the step named', () => {
    assert.equal(
      queuedDifferently({ sourceBranch: 'refs/heads/release/1.2' }, sent),
      'it was queued on refs/heads/release/1.2, not refs/heads/main',
    );
    assert.equal(queuedDifferently({ sourceBranch: 'refs/heads/release/1.2' }, { parameters: {} }), undefined, 'no branch named: any');
  });
});
